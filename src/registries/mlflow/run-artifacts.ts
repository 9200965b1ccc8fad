import { sha256Hex } from '../../core/digest.js';
import type { RemoteSources } from '../../platform/node/sources.js';
import { proxyListUrl, proxyUrl } from './artifacts.js';
import { onnxDataFile, parseMlmodel } from './mlmodel.js';

/** A file in a run's artifacts with the bytes being published. */
export interface RunCopy {
  /** Its directory, relative to the artifact proxy root. */
  readonly dir: string;
  readonly file: string;
  /** The directory already is an MLflow model whose onnx flavor names this file: nothing to write. */
  readonly isModel: boolean;
}

interface Listing {
  readonly files?: readonly {
    readonly path: string;
    readonly is_dir?: boolean;
    readonly file_size?: number | string;
  }[];
}

// A run's artifacts are searched this deep and this wide at most: enough for `model/model.onnx` as trainers log it.
const MAX_DEPTH = 3;
const MAX_LISTINGS = 20;
const MAX_CANDIDATES = 5;

/**
 * Finds the ONNX file a training run already logged (e.g. `run.logArtifact(file, 'model/model.onnx')`), so
 * publishing with `runId` registers that file instead of storing a second copy. Candidates are `.onnx` files of
 * the same size, compared by sha256. Listing failures mean "not found": the caller uploads as usual.
 */
export async function findInRun(
  sources: RemoteSources,
  trackingUri: string,
  root: string,
  bytes: Uint8Array,
  sha256: string,
  options: { signal?: AbortSignal | undefined; headers: Record<string, string> },
): Promise<RunCopy | undefined> {
  const call = { headers: options.headers, ...(options.signal === undefined ? {} : { signal: options.signal }) };
  const list = async (dir: string): Promise<Listing['files']> => {
    try {
      return (
        (
          JSON.parse(
            new TextDecoder().decode(
              await sources.getBytes(proxyListUrl(trackingUri, dir), { ...call, limit: 4 * 1024 * 1024 }),
            ),
          ) as Listing
        ).files ?? []
      );
    } catch (error) {
      if (options.signal?.aborted) throw error;
      return [];
    }
  };
  const queue: { dir: string; depth: number }[] = [{ dir: root, depth: 0 }];
  let listings = 0;
  let candidates = 0;
  while (queue.length > 0 && listings < MAX_LISTINGS) {
    const { dir, depth } = queue.shift() as { dir: string; depth: number };
    listings++;
    const files = (await list(dir)) ?? [];
    const names = files.map((f) => f.path.split('/').pop() as string);
    for (const [i, f] of files.entries()) {
      const name = names[i] as string;
      if (f.is_dir === true) {
        if (depth + 1 < MAX_DEPTH) queue.push({ dir: `${dir}/${name}`, depth: depth + 1 });
        continue;
      }
      if (!/\.onnx$/i.test(name) || Number(f.file_size) !== bytes.byteLength || candidates >= MAX_CANDIDATES) continue;
      candidates++;
      const found = await sources
        .getBytes(proxyUrl(trackingUri, `${dir}/${name}`), { ...call, limit: bytes.byteLength })
        .catch((error: unknown) => {
          if (options.signal?.aborted) throw error;
          return undefined;
        });
      if (found === undefined || (await sha256Hex(found)) !== sha256) continue;
      const isModel = names.includes('MLmodel');
      // A directory that is another MLflow model (its MLmodel names another file) is left alone.
      if (isModel && (await modelData(sources, trackingUri, dir, call)) !== name) continue;
      return { dir, file: name, isModel };
    }
  }
  return undefined;
}

/** The onnx data file named by `dir/MLmodel`, if it is an MLflow ONNX model. */
async function modelData(
  sources: RemoteSources,
  trackingUri: string,
  dir: string,
  call: { headers: Record<string, string>; signal?: AbortSignal },
): Promise<string | undefined> {
  try {
    return onnxDataFile(
      parseMlmodel(new TextDecoder().decode(await sources.getBytes(proxyUrl(trackingUri, `${dir}/MLmodel`), call))),
      dir,
    );
  } catch (error) {
    if (call.signal?.aborted) throw error;
    return undefined;
  }
}

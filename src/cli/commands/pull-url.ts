/**
 * `modelship pull <url>` for URL references (`https://…#sha256=…`, `s3://…`, `gs://…`): the model is brought into
 * the same cache `loadModel` and `serve` read URL references from (`$MODELSHIP_CACHE_DIR`, …), through
 * `loadModel` itself, so what is pulled is exactly what `serve` will find: downloaded with the progress bar,
 * its digest checked against a `#sha256=` pin, parsed as an ONNX model (no worker started, no warm-up).
 */
import { loadModel, ModelshipError } from '../../index.node.js';
import { createCliLogger } from '../log.js';
import { createProgress } from '../progress.js';
import { EXIT, say } from '../ui.js';

/** Whether a reference is a URL (`scheme://…`) rather than a registry reference or a path. */
export const isUrlRef = (ref: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(ref);

/** Pulls a URL reference into the cache; prints the version (the digest's first 12 characters) and sha256. */
export async function pullUrl(ref: string, flags: { offline?: boolean; json?: boolean }): Promise<number> {
  if (flags.offline === true)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      '--offline checks registry references; a URL pinned with #sha256= is served from the cache whenever its file is there.',
    );
  const progress = createProgress(process.stderr);
  let model;
  try {
    model = await loadModel(ref, {
      workers: 0,
      warmup: false,
      batching: false,
      logger: createCliLogger('text'),
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.stop();
  }
  try {
    const summary = {
      ref: model.source.ref,
      name: model.name,
      version: model.version,
      sha256: model.sha256,
      size: model.size,
      offline: false,
      fromCache: false,
    };
    if (flags.json === true) say(JSON.stringify(summary));
    else {
      say(`pulled ${model.source.ref} → ${model.name} version ${model.version}`);
      say(`sha256  ${model.sha256}`);
    }
  } finally {
    await model.close();
  }
  return EXIT.ok;
}

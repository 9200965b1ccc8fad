import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { detectUnresolvedPointer, unresolvedPointerError } from '../../core/lineage/pointer.js';
import { ModelshipError } from '../../errors/index.js';

/** Reads a model file given as a path or `file:` URL; a missing file is MODEL_NOT_FOUND, not a raw ENOENT. */
export async function readModelFile(pathOrUrl: string): Promise<Uint8Array> {
  const path = pathOrUrl.startsWith('file:') ? fileURLToPath(pathOrUrl) : pathOrUrl;
  try {
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // A DVC-tracked file that was never pulled leaves only its .dvc file behind.
      const dvc = await readFile(`${path}.dvc`, 'utf8').catch(() => undefined);
      if (dvc !== undefined) throw unresolvedPointerError(path, detectUnresolvedPointer(new TextEncoder().encode(dvc)) ?? { kind: 'dvc' });
      throw new ModelshipError('MODEL_NOT_FOUND', `No model file at ${path}. Check the path (it is resolved from ${process.cwd()}).`, { cause });
    }
    if (code === 'EISDIR') {
      throw new ModelshipError('MODEL_NOT_FOUND', `${path} is a directory; point at the .onnx file inside it.`, { cause });
    }
    throw new ModelshipError('MODEL_LOAD_FAILED', `Could not read ${path}: ${(cause as Error).message}`, { cause });
  }
}

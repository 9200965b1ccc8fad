/**
 * `npm run demo:monitoring` end to end, as a user runs it (a child process on a fresh directory): a baseline
 * stored with the version, no drift on the test split, drift on brighter and permuted digits, and a canary with
 * permuted classes rolled back on live accuracy from labels sent over HTTP, with a 0 % error rate.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/models.js';
import { runCommand } from '../helpers/run.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run demo:monitoring', () => {
  it('shows drift where it is and rolls back a wrong canary on live accuracy', async () => {
    const dir = await tempDir('modelship-monitoring-');
    const output = await runCommand('npm', ['run', 'demo:monitoring'], {
      cwd: root,
      env: { MODELSHIP_MONITORING_DIR: dir },
    });
    expect(output).toMatch(/^test split\s+400\s+0 of 802\s+0 of 784/m);
    expect(output).toMatch(/^brighter \(\+0\.3\)\s+400\s+\d+ of 802\s+\d+ of 784\s+PSI [\d.]+ drifted/m);
    expect(output).toMatch(/^permuted pixels\s+400\s+\d+ of 802\s+\d+ of 784\s+PSI [\d.]+\s+PSI [\d.]+ drifted/m);
    expect(output).toContain('Labels sent through POST /v2/models/mnist/feedback: {"joined":2000}');
    expect(output).toMatch(
      /^2\s+canary\s+\d+\s+0\.0 %\s+[\d.]+ %\s+rolled back \(live-accuracy < 0\.8\), weight now 0/m,
    );
    // The baseline is stored with each version in the registry.
    expect(await readdir(join(dir, 'models', 'mnist'))).toEqual(expect.arrayContaining(['1', '2']));
  }, 120_000); // about 40 s on a busy 2-core machine: it runs from the sources, no build first
});

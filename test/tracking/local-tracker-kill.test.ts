/** The local tracker keeps the remote trackers' promise: a logged point survives the process being killed. */
import { fork } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { createLocalTracker } from '../../src/tracking/index.js';
import { tempDir } from '../helpers/models.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/local-tracker-child.ts', import.meta.url));

it('applies what a process killed with SIGKILL had logged when the next local tracker starts on the directory', async () => {
  const root = join(await tempDir(), 'mlruns');
  const [steps, keys] = [2000, 50];
  const proc = fork(child, [root, String(steps), String(keys)], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const logged = await new Promise<{ runId: string }>((resolve, reject) => {
    proc.on('message', (m: { type: string; runId: string }) => m.type === 'logged' && resolve(m));
    proc.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  proc.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  const tracker = createLocalTracker({ root });
  try {
    expect(await tracker.flush({ timeoutMs: 20_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
  } finally {
    await tracker.close();
  }
  const experiment = (await readdir(root)).find((d) => !d.startsWith('.') && d !== '0') as string;
  const runDir = join(root, experiment, logged.runId);
  expect(await readdir(join(runDir, 'metrics'))).toHaveLength(keys);
  for (let k = 0; k < keys; k++) {
    const lines = (await readFile(join(runDir, 'metrics', `m${k}`), 'utf8')).trim().split('\n');
    // At least once: a batch applied just before the kill may be applied again, never skipped.
    expect(new Set(lines.map((l) => Number(l.split(' ')[2])))).toEqual(
      new Set(Array.from({ length: steps }, (_, i) => i)),
    );
  }
  expect(await readFile(join(runDir, 'meta.yaml'), 'utf8')).toMatch(/status: 5\n/);
});

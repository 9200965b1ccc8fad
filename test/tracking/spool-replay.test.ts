import { fork } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { createMlflowTracker, type MlflowTracker } from '../../src/tracking/index.js';
import { tempDir } from '../helpers/models.js';
import { until } from '../helpers/wait.js';
import { startMlflowTrackingServer, type MlflowTrackingServer } from '../servers/mlflow-tracking/server.js';
import { metricHistory } from '../servers/mlflow-tracking/state.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/tracker-child.ts', import.meta.url));
let server: MlflowTrackingServer | undefined;
let tracker: MlflowTracker | undefined;

afterEach(async () => {
  await tracker?.close({ timeoutMs: 2000 });
  await server?.close();
});

it('replays the spool of a process killed with SIGKILL when the next tracker starts', async () => {
  server = await startMlflowTrackingServer();
  await server.stop();
  const spoolDir = await tempDir('modelship-spool-');
  const proc = fork(child, [server.url, spoolDir, '500'], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const spooled = await new Promise<{ pending: number }>((resolve, reject) => {
    proc.on('message', (m: { type: string; pending: number }) => m.type === 'spooled' && resolve(m));
    proc.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  expect(spooled.pending).toBe(502); // start, params, 500 metric points
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  proc.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  expect(server.state.requests).toEqual([]);

  await server.start();
  tracker = createMlflowTracker({ trackingUri: server.url, spoolDir, lingerMs: 0 });
  await tracker.ready();
  expect(await tracker.flush({ timeoutMs: 20_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
  await until(() => tracker?.stats().spools === 1, "the dead process's spool to be removed");

  const runs = [...server.state.runs.values()];
  expect(runs.map((r) => [r.runName, r.status])).toEqual([['child', 'KILLED']]);
  const run = runs[0]!;
  expect(metricHistory(run, 'loss').map((p) => p.step)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  expect(metricHistory(run, 'step').map((p) => p.value)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  expect(run.params.get('pid')).toBe(String(proc.pid));
  const [base] = await readdir(spoolDir);
  expect(await readdir(join(spoolDir, base as string))).toEqual([tracker.spoolDir?.split('/').pop()]);
});

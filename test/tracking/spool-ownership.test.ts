/** Who may replay a spool: a restarted process with its predecessor's PID must; a live process's spool is never stolen. */
import { fork } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { createMlflowTracker, type MlflowTracker } from '../../src/tracking/index.js';
import { tempDir } from '../helpers/models.js';
import { until } from '../helpers/wait.js';
import { startMlflowTrackingServer, type MlflowTrackingServer } from '../servers/mlflow-tracking/server.js';
import { metricHistory } from '../servers/mlflow-tracking/state.js';
import { mlflowSpoolBase, ownerOf, runRecords, writeSpool } from './fixtures/spools.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/tracker-child.ts', import.meta.url));
let server: MlflowTrackingServer | undefined;
let tracker: MlflowTracker | undefined;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  await tracker?.close({ timeoutMs: 2000 });
  tracker = undefined;
  for (const cleanup of cleanups.splice(0)) cleanup();
  await server?.close();
});

it('replays a spool whose owner had this very PID but was an earlier process (a container restarted as PID 1)', async () => {
  server = await startMlflowTrackingServer();
  const spoolDir = await tempDir('modelship-spool-');
  const base = mlflowSpoolBase(spoolDir, server.url);
  // Exactly what a crashed predecessor with the same PID and hostname leaves: its own start time and nonce.
  await writeSpool(
    base,
    'predecessor',
    runRecords('k1', 'before-restart', 100),
    ownerOf(process.pid, { nonce: 'an-earlier-process', startTicks: 1 }),
  );
  tracker = createMlflowTracker({ trackingUri: server.url, spoolDir, lingerMs: 0 });
  expect(await tracker.flush({ timeoutMs: 20_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
  await until(() => tracker?.stats().spools === 1, "the predecessor's spool to be delivered and removed");
  const runs = [...server.state.runs.values()];
  expect(runs.map((r) => [r.runName, r.status])).toEqual([['before-restart', 'KILLED']]);
  expect(metricHistory(runs[0]!, 'loss').map((p) => p.step)).toEqual(Array.from({ length: 100 }, (_, i) => i));
});

it('replays a spool whose owner PID now belongs to another live process that started at another time', async (ctx) => {
  const { readStartTicks } = await import('../../src/tracking/spool/process-identity.js');
  if (readStartTicks(process.ppid) === undefined) ctx.skip(); // no /proc: only the heartbeat can tell
  server = await startMlflowTrackingServer();
  const spoolDir = await tempDir('modelship-spool-');
  await writeSpool(
    mlflowSpoolBase(spoolDir, server.url),
    'reused',
    runRecords('k1', 'reused-pid', 3),
    ownerOf(process.ppid, { nonce: 'x', startTicks: 1 }),
  );
  tracker = createMlflowTracker({ trackingUri: server.url, spoolDir, lingerMs: 0 });
  expect(await tracker.flush({ timeoutMs: 20_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
  expect([...server.state.runs.values()].map((r) => r.runName)).toEqual(['reused-pid']);
});

it('a spool left by a legacy owner file with this PID (no nonce) is replayed too', async () => {
  server = await startMlflowTrackingServer();
  const spoolDir = await tempDir('modelship-spool-');
  await writeSpool(
    mlflowSpoolBase(spoolDir, server.url),
    'legacy',
    runRecords('k1', 'legacy', 3),
    ownerOf(process.pid),
  );
  tracker = createMlflowTracker({ trackingUri: server.url, spoolDir, lingerMs: 0 });
  expect(await tracker.flush({ timeoutMs: 20_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
  expect([...server.state.runs.values()].map((r) => r.runName)).toEqual(['legacy']);
});

it('does not take the spool of a live process, nor the spools of another tracker in this process', async () => {
  server = await startMlflowTrackingServer();
  await server.stop();
  const spoolDir = await tempDir('modelship-spool-');
  const proc = fork(child, [server.url, spoolDir, '50'], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  cleanups.push(() => proc.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    proc.on('message', (m: { type: string }) => m.type === 'spooled' && resolve());
    proc.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  const base = mlflowSpoolBase(spoolDir, server.url);
  const [childDir] = await readdir(base);
  const sibling = createMlflowTracker({ trackingUri: server.url, spoolDir, onError: () => undefined });
  cleanups.push(() => void sibling.close({ timeoutMs: 10 }));
  await sibling.ready();
  (await sibling.startRun({ experiment: 'x' })).logMetrics({ a: 1 });
  await sibling.flush({ timeoutMs: 0 });
  tracker = createMlflowTracker({ trackingUri: server.url, spoolDir, onError: () => undefined });
  await tracker.ready();
  expect(tracker.stats().spools).toBe(1);
  expect(sibling.stats().spools).toBe(1);
  const owner = JSON.parse(await readFile(join(base, childDir as string, 'owner.json'), 'utf8')) as { pid: number };
  expect(owner.pid).toBe(proc.pid);
  expect((await readdir(base)).sort()).toEqual(
    [childDir, sibling.spoolDir?.split('/').pop(), tracker.spoolDir?.split('/').pop()].sort(),
  );
});

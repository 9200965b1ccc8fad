/** Fault injection: the spool's disk fills up while the app logs, then space comes back. */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ModelshipError } from '../../src/errors/index.js';
import { createMlflowTracker, type MlflowTracker } from '../../src/tracking/index.js';
import { tempDir } from '../helpers/models.js';
import { startMlflowTrackingServer, type MlflowTrackingServer } from '../servers/mlflow-tracking/server.js';
import { metricHistory } from '../servers/mlflow-tracking/state.js';

let mountPoint: string | undefined;
let skipReason: string | undefined;

beforeAll(async () => {
  const dir = await tempDir('modelship-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'pipe' });
    mountPoint = dir;
  } catch (error) {
    skipReason = `cannot mount a 256 KiB tmpfs (needs root): ${(error as Error).message.split('\n')[0]}`;
    await rmdir(dir);
  }
});

afterAll(async () => {
  if (mountPoint === undefined) return;
  execFileSync('umount', [mountPoint]);
  await rmdir(mountPoint);
});

/** Fills the filesystem of `file` until the kernel says ENOSPC. */
async function fill(file: string): Promise<void> {
  await writeFile(file, Buffer.alloc(1024 * 1024)).then(
    () => expect.unreachable('a 1 MiB file fitted in a 256 KiB tmpfs'),
    (error: NodeJS.ErrnoException) => expect(error.code).toBe('ENOSPC'),
  );
}

it('reports failed appends as SPOOL_WRITE_FAILED, loses nothing it already wrote, and keeps logging once space is back', async (ctx) => {
  if (mountPoint === undefined) {
    console.warn(`skipped: ${skipReason}`);
    ctx.skip();
    return;
  }
  const server: MlflowTrackingServer = await startMlflowTrackingServer();
  await server.stop();
  const spoolDir = join(mountPoint, 'spool');
  await mkdir(spoolDir);
  const errors: ModelshipError[] = [];
  let tracker: MlflowTracker | undefined = createMlflowTracker({
    trackingUri: server.url,
    spoolDir,
    lingerMs: 0,
    onError: (e) => errors.push(e),
    retry: { initialDelayMs: 20, maxDelayMs: 50 },
  });
  try {
    const run = await tracker.startRun({ experiment: 'full-disk', name: 'full' });
    const log = (from: number, to: number): void => {
      for (let step = from; step < to; step++) run.logMetrics({ loss: step, padding: step / 7 }, { step });
    };
    log(0, 200);
    await tracker.flush({ timeoutMs: 0 });
    expect(errors.filter((e) => e.code === 'SPOOL_WRITE_FAILED')).toEqual([]);

    const filler = join(mountPoint, 'filler');
    await fill(filler);
    log(200, 400);
    const during = await tracker.flush({ timeoutMs: 0 });
    expect(during.delivered).toBe(false);
    const failures = errors.filter((e) => e.code === 'SPOOL_WRITE_FAILED');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]?.retryable).toBe(true);

    await rm(filler);
    log(400, 600);
    await run.end();
    await server.start();
    expect(await tracker.flush({ timeoutMs: 20_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
    const stored = [...server.state.runs.values()];
    expect(stored.map((r) => [r.runName, r.status])).toEqual([['full', 'FINISHED']]);
    expect(metricHistory(stored[0]!, 'loss').map((p) => p.step)).toEqual(Array.from({ length: 600 }, (_, i) => i));
  } finally {
    await tracker.close({ timeoutMs: 2000 });
    tracker = undefined;
    await server.close();
  }
});

/** A spool left behind damaged (by hand, a disk fault, a crash) is reported, never crashes the tracker, and what is readable is still delivered. */
import { readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelshipError } from '../../src/errors/index.js';
import { createMlflowTracker, type MlflowTracker } from '../../src/tracking/index.js';
import { tempDir } from '../helpers/models.js';
import { startMlflowTrackingServer, type MlflowTrackingServer } from '../servers/mlflow-tracking/server.js';
import { metricHistory, type StoredRun } from '../servers/mlflow-tracking/state.js';
import { mlflowSpoolBase, ownerOf, runRecords, segments, writeSpool } from './fixtures/spools.js';

let server: MlflowTrackingServer | undefined;
let tracker: MlflowTracker | undefined;

afterEach(async () => {
  await tracker?.close({ timeoutMs: 2000 });
  tracker = undefined;
  await server?.close();
});

async function setup(): Promise<{
  spoolDir: string;
  base: string;
  errors: ModelshipError[];
  start: () => MlflowTracker;
}> {
  server = await startMlflowTrackingServer();
  const spoolDir = await tempDir('modelship-spool-');
  const errors: ModelshipError[] = [];
  const start = (): MlflowTracker =>
    (tracker = createMlflowTracker({
      trackingUri: (server as MlflowTrackingServer).url,
      spoolDir,
      lingerMs: 0,
      onError: (e) => errors.push(e),
    }));
  return { spoolDir, base: mlflowSpoolBase(spoolDir, server.url), errors, start };
}

const runNamed = (name: string): StoredRun | undefined =>
  [...(server as MlflowTrackingServer).state.runs.values()].find((r) => r.runName === name);
const steps = (run: StoredRun | undefined): number[] =>
  run === undefined ? [] : metricHistory(run, 'loss').map((p) => p.step);
const released = ownerOf(process.pid, { released: true });

describe('damaged spools', () => {
  it('a left-over spool whose ack.json is not JSON is reported and moved aside; its records are delivered and startRun works', async () => {
    const { base, errors, start } = await setup();
    const dir = await writeSpool(base, 'left-over', runRecords('k1', 'damaged-ack', 50, true), released);
    await writeFile(join(dir, 'ack.json'), '{"seq": "lots", ');
    const t = start();
    const run = await t.startRun({ experiment: 'hardening', name: 'after' });
    run.logMetrics({ loss: 1 }, { step: 0 });
    await run.end();
    expect(await t.flush({ timeoutMs: 20_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
    const aside = (await readdir(base)).filter((n) => /\.corrupt-\d+$/.test(n));
    expect(aside).toHaveLength(1);
    expect(errors.filter((e) => e.code === 'SPOOL_CORRUPT').map((e) => e.details?.file)).toEqual([
      join(base, aside[0] as string, 'ack.json'),
    ]);
    expect(runNamed('damaged-ack')?.status).toBe('FINISHED');
    expect(steps(runNamed('damaged-ack'))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(steps(runNamed('after'))).toEqual([0]);
    expect(await readFile(join(base, aside[0] as string, 'ack.json'), 'utf8')).toBe('{"seq": "lots", ');
  });

  it('an ack.json of the wrong shape is treated the same way', async () => {
    const { base, errors, start } = await setup();
    const dir = await writeSpool(base, 'left-over', runRecords('k1', 'odd-ack', 5, true), released);
    await writeFile(join(dir, 'ack.json'), '{"ackedSeq": "lots", "openRuns": 7, "state": null}');
    const t = start();
    expect(await t.flush({ timeoutMs: 20_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
    expect(errors.map((e) => e.code)).toContain('SPOOL_CORRUPT');
    expect(steps(runNamed('odd-ack'))).toEqual([0, 1, 2, 3, 4]);
  });

  it('a garbled line in a segment and a torn last line are reported; every readable record is delivered and flush does not claim the lost one', async () => {
    const { base, errors, start } = await setup();
    const dir = await writeSpool(base, 'left-over', runRecords('k1', 'garbled', 40, true), released);
    const [first] = await segments(dir);
    const firstFile = join(dir, first as string);
    const lines = (await readFile(firstFile, 'utf8')).split('\n');
    // seq 10 is the metric point of step 7 (seq 1 is the start, 2 the params).
    const at = lines.findIndex((l) => /"seq":10[,}]/.test(l));
    expect(at).toBeGreaterThanOrEqual(0);
    lines[at] = '{"seq":10,"run":"k1","kind":"metr\u0000\u00ff garbage';
    await writeFile(firstFile, lines.join('\n'));
    const last = (await segments(dir)).at(-1) as string;
    await writeFile(join(dir, last), `${await readFile(join(dir, last), 'utf8')}{"seq":44,"ru`);
    const t = start();
    const report = await t.flush({ timeoutMs: 20_000 });
    expect(report).toMatchObject({ delivered: false, pendingRecords: 0, lostRecords: 1 });
    const corrupt = errors.filter((e) => e.code === 'SPOOL_CORRUPT');
    expect(corrupt.length).toBeGreaterThanOrEqual(2);
    // Reported under the name the spool was adopted as: only the segment's file name stays the same.
    const unreadable = (name: string): unknown[] =>
      corrupt.filter((e) => String(e.details?.file).endsWith(`/${name}`)).map((e) => e.details?.unreadableLines);
    expect(unreadable(first as string)).toEqual([1]);
    expect(unreadable(last)).toEqual([1]);
    expect(
      corrupt.filter((e) => e.details?.lostRecords !== undefined).map((e) => [e.details?.fromSeq, e.details?.toSeq]),
    ).toEqual([[10, 10]]);
    expect(steps(runNamed('garbled'))).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((s) => s !== 7));
    expect(runNamed('garbled')?.status).toBe('FINISHED');
  });

  it('an owner.json that is garbage is reported; once its heartbeat is stale the spool is adopted and delivered', async () => {
    const { base, errors, start } = await setup();
    const dir = await writeSpool(base, 'left-over', runRecords('k1', 'no-owner', 10, true), '{"pid": 1, "host');
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(dir, 'owner.json'), old, old);
    const t = start();
    expect(await t.flush({ timeoutMs: 20_000 })).toMatchObject({ delivered: true, pendingRecords: 0 });
    expect(errors.some((e) => e.code === 'SPOOL_CORRUPT' && e.details?.file === join(dir, 'owner.json'))).toBe(true);
    expect(steps(runNamed('no-owner'))).toHaveLength(10);
  });

  it('a deleted segment is reported with the number of records lost, and flush does not claim them delivered', async () => {
    const { base, errors, start } = await setup();
    const dir = await writeSpool(base, 'left-over', runRecords('k1', 'missing-segment', 300, true), released);
    const files = await segments(dir);
    expect(files.length).toBeGreaterThan(4);
    const gone = files[2] as string;
    const lostLines = (await readFile(join(dir, gone), 'utf8')).split('\n').filter((l) => l.length > 0).length;
    await rm(join(dir, gone));
    const t = start();
    const report = await t.flush({ timeoutMs: 20_000 });
    expect(report).toMatchObject({ delivered: false, pendingRecords: 0, lostRecords: lostLines });
    const missing = errors.filter((e) => e.code === 'SPOOL_CORRUPT' && e.details?.lostRecords !== undefined);
    expect(missing.map((e) => e.details?.lostRecords)).toEqual([lostLines]);
    expect(steps(runNamed('missing-segment'))).toHaveLength(300 - lostLines);
    expect(runNamed('missing-segment')?.status).toBe('FINISHED');
  });
});

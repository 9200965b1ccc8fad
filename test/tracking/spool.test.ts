import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpoolRecord } from '../../src/tracking/records.js';
import type { ModelshipError } from '../../src/errors/index.js';
import { openSpool } from '../../src/tracking/spool/spool.js';
import { tempDir } from '../helpers/models.js';

const limits = { maxMemoryRecords: 10, segmentBytes: 2048, writeBufferBytes: 512 };
const fail = (error: unknown): never => {
  throw error;
};

async function drainAll(spool: Awaited<ReturnType<typeof openSpool>>, take = 7): Promise<SpoolRecord[]> {
  const seen: SpoolRecord[] = [];
  for (;;) {
    const batch = await spool.next(take);
    if (batch.length === 0) return seen;
    seen.push(...batch);
    await spool.ack((batch.at(-1) as SpoolRecord).seq, { acked: seen.length });
  }
}

describe('spool', () => {
  it('serves records in order from memory and, past the cap, from rotated segments on disk, then removes them', async () => {
    const dir = await tempDir('modelship-spool-');
    const spool = await openSpool(dir, limits, fail);
    spool.append({ run: 'r', kind: 'start', experiment: 'e', name: 'n', tags: {}, time: 1 });
    for (let i = 0; i < 300; i++) spool.append({ run: 'r', kind: 'metrics', metrics: { m: i }, step: i, time: 2 });
    expect(spool.memoryRecords()).toBe(limits.maxMemoryRecords);
    await spool.sync();
    expect((await readdir(dir)).filter((f) => f.endsWith('.jsonl')).length).toBeGreaterThan(5);
    const seen = await drainAll(spool);
    expect(seen.map((r) => r.seq)).toEqual(Array.from({ length: 301 }, (_, i) => i + 1));
    expect(seen.slice(1).map((r) => (r as Extract<SpoolRecord, { kind: 'metrics' }>).metrics.m)).toEqual(
      Array.from({ length: 300 }, (_, i) => i),
    );
    expect(spool.pending()).toBe(0);
    expect(spool.openRuns).toEqual(new Set(['r']));
    expect((await readdir(dir)).filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
    await spool.close();
  });

  it('reopens after a crash where it left off: acknowledged records are not served again, torn lines are skipped', async () => {
    const dir = await tempDir('modelship-spool-');
    const first = await openSpool(dir, limits, fail);
    for (let i = 0; i < 40; i++) first.append({ run: 'r', kind: 'metrics', metrics: { m: i }, step: i, time: 2 });
    const batch = await first.next(15);
    expect(batch).toHaveLength(limits.maxMemoryRecords); // a delivery never takes more than memory holds
    await first.ack(10, { offset: 10 });
    await first.sync();
    // A write cut short by the crash, alone in a segment of its own: the next append must not glue onto it.
    await appendFile(join(dir, '000000000041.jsonl'), '{"seq":41,"run":"r","kind":"met');

    const reported: ModelshipError[] = [];
    const second = await openSpool(dir, limits, (e) => reported.push(e));
    expect(second.state).toEqual({ offset: 10 });
    expect(second.ackedSeq).toBe(10);
    expect(second.lastSeq).toBe(40);
    // The torn line is reported, once, but it is no lost record: its write never completed.
    expect(reported.map((e) => [e.code, e.details?.unreadableLines])).toEqual([['SPOOL_CORRUPT', 1]]);
    const rest = await drainAll(second);
    expect(rest.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 11));
    expect(second.append({ run: 'r', kind: 'end', status: 'KILLED', time: 3 })).toBe(41);
    await second.sync();
    expect((await second.next(5)).map((r) => r.kind)).toEqual(['end']);
    await second.close();
    const third = await openSpool(dir, limits, () => undefined);
    expect((await third.next(5)).map((r) => [r.seq, r.kind])).toEqual([[41, 'end']]);
    await third.close();
  });

  it('counts the records of a deleted last segment as lost, from what the acknowledgement last saw written', async () => {
    const dir = await tempDir('modelship-spool-');
    const first = await openSpool(dir, limits, fail);
    for (let i = 0; i < 100; i++) first.append({ run: 'r', kind: 'metrics', metrics: { m: i }, step: i, time: 2 });
    await first.sync();
    await first.ack(5, {});
    await first.close();
    const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort();
    const last = files.at(-1) as string;
    const gone = (await readFile(join(dir, last), 'utf8')).split('\n').filter((l) => l.length > 0).length;
    await rm(join(dir, last));
    const reported: ModelshipError[] = [];
    const second = await openSpool(dir, limits, (e) => reported.push(e));
    expect(second.lastSeq).toBe(100);
    expect((await drainAll(second)).length).toBe(95 - gone);
    expect(second.lost()).toBe(gone);
    expect(reported.map((e) => [e.code, e.details?.fromSeq, e.details?.toSeq])).toEqual([
      ['SPOOL_CORRUPT', 101 - gone, 100],
    ]);
    await second.close();
  });
});

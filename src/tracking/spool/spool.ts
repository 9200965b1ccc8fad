import { closeSync, fstatSync, fsync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeRecord, type NewSpoolRecord, type SpoolRecord } from '../records.js';
import { ModelshipError } from '../../errors/index.js';
import { writeFileAtomic } from '../../platform/node/fs-atomic.js';
import { listSegments, pad, readAck, readSegment, SPOOL_ACK_FILE, type AckFile } from './spool-files.js';

export { SPOOL_ACK_FILE, SPOOL_BLOB_DIR } from './spool-files.js';

const fsyncAsync = promisify(fsync);

/**
 * While the disk refuses writes, records wait in memory up to this many bytes; past it new records are dropped
 * (counted in `lost()`) rather than letting a long disk-full episode exhaust memory.
 */
export const MAX_UNWRITTEN_BYTES = 64 * 1024 * 1024;

/** Spool sizing. */
export interface SpoolLimits {
  /** Unacknowledged records kept in memory for the flusher; beyond it they are on disk only. */
  readonly maxMemoryRecords: number;
  /** A new segment file is started once the current one is this large. */
  readonly segmentBytes: number;
  /** Records waiting to be written are written synchronously once they take this many bytes. */
  readonly writeBufferBytes: number;
}

/**
 * One append-only spool directory: numbered JSONL segments, an acknowledgement file, and artifact blobs.
 *
 * Appends are buffered for the current event-loop turn and written with one synchronous write (so writes
 * land in order and a busy loop cannot grow the buffer without bound); from then on they survive the process
 * being killed. Acknowledgements are written atomically together with the transport's state (which run ids
 * the server gave, W&B offsets…), so after a crash delivery resumes exactly after the last acknowledged record.
 */
export interface Spool {
  readonly dir: string;
  /** Seq of the newest record (0 when none). */
  readonly lastSeq: number;
  /** Seq of the newest acknowledged record. */
  readonly ackedSeq: number;
  /** The transport's state as of `ackedSeq`. */
  readonly state: Record<string, unknown>;
  /** Runs started and not ended, as of `ackedSeq`. */
  readonly openRuns: ReadonlySet<string>;
  /** Appends a record and returns its seq. Never throws: write failures go to `onError` and are retried. */
  append(record: NewSpoolRecord): number;
  /** Unacknowledged records in order, at most `max`: from memory, else read back from disk. */
  next(max: number): Promise<SpoolRecord[]>;
  /** Records `seq` (and everything before it) as delivered, with the transport's `state` after it. */
  ack(seq: number, state: Record<string, unknown>): Promise<void>;
  /** Unacknowledged record count. */
  pending(): number;
  /** Records currently held in memory (the bounded buffer). */
  memoryRecords(): number;
  /** Records that will never be delivered: found missing or unreadable on disk, or dropped while the disk was full. */
  lost(): number;
  /** Writes buffered records and fsyncs the current segment. */
  sync(): Promise<void>;
  /** Syncs and closes the segment file; the spool can no longer be appended to. */
  close(): Promise<void>;
}

function applyRuns(openRuns: Set<string>, record: SpoolRecord): void {
  if (record.kind === 'start') openRuns.add(record.run);
  else if (record.kind === 'end') openRuns.delete(record.run);
}

/**
 * Opens (or creates) the spool in `dir`, which the caller owns. An existing spool is scanned so appends
 * continue after its last record and delivery resumes after its last acknowledged one.
 */
export async function openSpool(
  dir: string,
  limits: SpoolLimits,
  onError: (error: ModelshipError) => void,
): Promise<Spool> {
  const ack = await readAck(dir);
  const segments = await listSegments(dir);
  const reportedSegments = new Set<number>();
  let lostRecords = 0;
  /** Reads a segment, reporting its unreadable lines once per spool. */
  async function read(first: number): Promise<SpoolRecord[]> {
    const { records, unreadable } = await readSegment(dir, first);
    if (unreadable > 0 && !reportedSegments.has(first)) {
      reportedSegments.add(first);
      const file = join(dir, `${pad(first)}.jsonl`);
      onError(
        new ModelshipError(
          'SPOOL_CORRUPT',
          `${file}: ${unreadable} unreadable line(s) skipped (a write torn by a crash, or damage).`,
          { details: { file, unreadableLines: unreadable } },
        ),
      );
    }
    return records;
  }
  function noteLost(from: number, to: number): void {
    lostRecords += to - from + 1;
    onError(
      new ModelshipError(
        'SPOOL_CORRUPT',
        `Records ${from}–${to} of the spool in ${dir} are missing from its segment files (deleted or damaged); ${to - from + 1} record(s) cannot be delivered.`,
        {
          details: { dir, fromSeq: from, toSeq: to, lostRecords: to - from + 1 },
        },
      ),
    );
  }
  let lastSeq = ack.ackedSeq;
  const last = segments.at(-1);
  if (last !== undefined) {
    const tail = await read(last);
    lastSeq = Math.max(lastSeq, tail.at(-1)?.seq ?? last - 1);
  }
  // Records written after the last segment still on disk began: its successor was deleted. Found missing on delivery.
  lastSeq = Math.max(lastSeq, ack.writtenSeq ?? 0);
  let writtenSeq = lastSeq;
  let ackedSeq = ack.ackedSeq;
  let state = ack.state;
  let openRuns = new Set(ack.openRuns);
  // Records [ackedSeq + 1, spilledFrom) are in `memory`; [spilledFrom, lastSeq] only on disk.
  let memory: SpoolRecord[] = [];
  let spilledFrom: number | undefined = lastSeq > ackedSeq ? ackedSeq + 1 : undefined;
  let fd: number | undefined;
  let segmentSize = 0;
  let buffer: string[] = [];
  let bufferFirstSeq = 0;
  let bufferBytes = 0;
  /** The rest of a write the disk cut short: it belongs to the current segment, before anything newer. */
  let partial: Buffer | undefined;
  let scheduled = false;
  let writeFailing = false;
  let dropped = 0;
  let droppedTotal = 0;
  let closed = false;

  function openSegment(firstSeq: number): number {
    const handle = openSync(join(dir, `${pad(firstSeq)}.jsonl`), 'a');
    try {
      // A segment left by a crashed process may end in a torn line: start on a fresh line (empty lines are skipped).
      if (fstatSync(handle).size > 0) writeSync(handle, '\n');
    } catch (error) {
      closeSync(handle);
      throw error;
    }
    if (!segments.includes(firstSeq)) segments.push(firstSeq);
    segmentSize = 0;
    return handle;
  }

  /** Writes all of `data`; what a failure leaves unwritten becomes `partial`, written first next time. */
  function writeAll(handle: number, data: Buffer): void {
    let offset = 0;
    try {
      while (offset < data.length) offset += writeSync(handle, data, offset);
    } finally {
      segmentSize += offset;
      partial = offset < data.length ? data.subarray(offset) : undefined;
    }
  }

  /** Writes the buffer with one synchronous write per segment; keeps what failed and reports. */
  function writeNow(): void {
    scheduled = false;
    if (buffer.length === 0 && partial === undefined) return;
    try {
      if (partial !== undefined && fd !== undefined) writeAll(fd, partial);
      if (buffer.length > 0) {
        if (fd === undefined || segmentSize >= limits.segmentBytes) {
          if (fd !== undefined) closeSync(fd);
          fd = undefined;
          fd = openSegment(bufferFirstSeq);
        }
        const data = Buffer.from(buffer.join(''));
        buffer = [];
        bufferBytes = 0;
        writeAll(fd, data);
      }
      writtenSeq = lastSeq;
      writeFailing = false;
    } catch (error) {
      if (!writeFailing) {
        onError(
          new ModelshipError(
            'SPOOL_WRITE_FAILED',
            `Could not write the tracker spool in ${dir} (${(error as Error).message}); the records wait in memory and are written as soon as the disk takes them.`,
            {
              cause: error,
              details: { dir, errno: (error as NodeJS.ErrnoException).code },
            },
          ),
        );
      }
      writeFailing = true;
      schedule();
    }
  }

  function schedule(): void {
    if (scheduled || closed) return;
    scheduled = true;
    // While the disk refuses writes, retry a few times a second rather than on every append.
    if (writeFailing) setTimeout(writeNow, 200).unref();
    else setImmediate(writeNow);
  }

  async function loadFromDisk(max: number): Promise<void> {
    writeNow();
    // Records that could not be written yet are not on disk to read back; try again on the next call.
    if (buffer.length > 0 || partial !== undefined) return;
    const from = spilledFrom as number;
    const loaded: SpoolRecord[] = [];
    let expected = from;
    for (let i = 0; i < segments.length && loaded.length < max; i++) {
      const next = segments[i + 1];
      if (next !== undefined && next <= from) continue;
      for (const record of await read(segments[i] as number)) {
        if (record.seq < expected || record.seq <= ackedSeq || loaded.length >= max) continue;
        if (record.seq > expected) noteLost(expected, record.seq - 1);
        loaded.push(record);
        expected = record.seq + 1;
      }
    }
    if (loaded.length < max && expected <= lastSeq) noteLost(expected, lastSeq);
    memory = loaded;
    const end = loaded.at(-1)?.seq;
    spilledFrom = end !== undefined && end < lastSeq ? end + 1 : undefined;
  }

  const spool: Spool = {
    dir,
    get lastSeq() {
      return lastSeq;
    },
    get ackedSeq() {
      return ackedSeq;
    },
    get state() {
      return state;
    },
    get openRuns() {
      return openRuns;
    },

    append(record) {
      if (writeFailing && bufferBytes + (partial?.length ?? 0) > MAX_UNWRITTEN_BYTES) {
        if (dropped === 0) {
          onError(
            new ModelshipError(
              'SPOOL_WRITE_FAILED',
              `The tracker spool in ${dir} still cannot be written and ${MAX_UNWRITTEN_BYTES} bytes wait in memory; new records are dropped until the disk takes writes again.`,
              { details: { dir } },
            ),
          );
        }
        dropped += 1;
        droppedTotal += 1;
        return lastSeq;
      }
      dropped = 0;
      const seq = ++lastSeq;
      const full = { ...record, seq } as SpoolRecord;
      const line = `${encodeRecord(full)}\n`;
      if (buffer.length === 0) bufferFirstSeq = seq;
      buffer.push(line);
      bufferBytes += line.length;
      if (spilledFrom === undefined && memory.length < limits.maxMemoryRecords) memory.push(full);
      else spilledFrom ??= seq;
      if (bufferBytes >= limits.writeBufferBytes && !writeFailing) writeNow();
      else schedule();
      return seq;
    },

    async next(max) {
      memory = memory.filter((r) => r.seq > ackedSeq);
      if (memory.length === 0 && spilledFrom !== undefined) await loadFromDisk(limits.maxMemoryRecords);
      if (memory.length === 0 && lastSeq > ackedSeq && spilledFrom === undefined && buffer.length === 0) {
        // Only unreadable (torn) lines remain: acknowledge them so the spool can drain.
        await spool.ack(lastSeq, state);
      }
      return memory.slice(0, max);
    },

    async ack(seq, nextState) {
      const runs = new Set(openRuns);
      const done = memory.filter((r) => r.seq <= seq);
      for (const record of done) applyRuns(runs, record);
      const body: AckFile = {
        ackedSeq: seq,
        openRuns: [...runs],
        state: nextState,
        writtenSeq: Math.max(writtenSeq, seq),
      };
      await writeFileAtomic(join(dir, SPOOL_ACK_FILE), JSON.stringify(body));
      ackedSeq = seq;
      state = nextState;
      openRuns = runs;
      memory = memory.filter((r) => r.seq > seq);
      const blobs = done.flatMap((r) => (r.kind === 'artifact' ? [r.file] : []));
      await Promise.all(blobs.map((f) => rm(join(dir, f), { force: true }).catch(() => undefined)));
      // A segment is done once the next one starts at or before ackedSeq + 1; the open one is never removed.
      while (segments.length > 1 && (segments[1] as number) <= ackedSeq + 1) {
        const first = segments.shift() as number;
        await rm(join(dir, `${pad(first)}.jsonl`), { force: true }).catch(() => undefined);
      }
    },

    pending: () => lastSeq - ackedSeq,
    memoryRecords: () => memory.length,
    lost: () => lostRecords + droppedTotal,

    async sync() {
      writeNow();
      if (fd !== undefined) await fsyncAsync(fd);
    },

    async close() {
      if (closed) return;
      closed = true;
      await spool.sync().catch(onError);
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
  return spool;
}

import { closeSync, fstatSync, fsync, openSync, writeSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeRecord, encodeRecord, type NewSpoolRecord, type SpoolRecord } from '../../core/tracking/records.js';
import { hasErrnoCode, readJsonFile, writeFileAtomic } from '../../platform/node/fs-atomic.js';

const fsyncAsync = promisify(fsync);

/** File holding what has been acknowledged: `{ ackedSeq, openRuns, state }`. */
export const SPOOL_ACK_FILE = 'ack.json';
/** Directory holding artifact bytes until they are uploaded. */
export const SPOOL_BLOB_DIR = 'blobs';
const SEGMENT = /^(\d{12})\.jsonl$/;

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
  /** Writes buffered records and fsyncs the current segment. */
  sync(): Promise<void>;
  /** Syncs and closes the segment file; the spool can no longer be appended to. */
  close(): Promise<void>;
}

interface AckFile {
  ackedSeq: number;
  openRuns: string[];
  state: Record<string, unknown>;
}

const pad = (seq: number): string => String(seq).padStart(12, '0');

async function listSegments(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch((error: unknown) => (hasErrnoCode(error, 'ENOENT') ? [] : Promise.reject(error)));
  return names
    .map((n) => SEGMENT.exec(n)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

async function readSegment(dir: string, first: number): Promise<SpoolRecord[]> {
  const text = await readFile(join(dir, `${pad(first)}.jsonl`), 'utf8').catch((error: unknown) => (hasErrnoCode(error, 'ENOENT') ? '' : Promise.reject(error)));
  const records: SpoolRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const record = decodeRecord(line);
    if (record !== undefined) records.push(record);
  }
  return records;
}

function applyRuns(openRuns: Set<string>, record: SpoolRecord): void {
  if (record.kind === 'start') openRuns.add(record.run);
  else if (record.kind === 'end') openRuns.delete(record.run);
}

/**
 * Opens (or creates) the spool in `dir`, which the caller owns. An existing spool is scanned so appends
 * continue after its last record and delivery resumes after its last acknowledged one.
 */
export async function openSpool(dir: string, limits: SpoolLimits, onError: (error: unknown) => void): Promise<Spool> {
  let ack: AckFile = { ackedSeq: 0, openRuns: [], state: {} };
  try {
    const raw = (await readJsonFile(join(dir, SPOOL_ACK_FILE))) as Partial<AckFile>;
    ack = { ackedSeq: raw.ackedSeq ?? 0, openRuns: raw.openRuns ?? [], state: raw.state ?? {} };
  } catch (error) {
    if (!hasErrnoCode(error, 'ENOENT')) throw error;
  }
  const segments = await listSegments(dir);
  let lastSeq = ack.ackedSeq;
  const last = segments.at(-1);
  if (last !== undefined) {
    const tail = await readSegment(dir, last);
    lastSeq = Math.max(lastSeq, tail.at(-1)?.seq ?? last - 1);
  }
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
  let scheduled = false;
  let writeFailing = false;
  let closed = false;

  function openSegment(firstSeq: number): number {
    const handle = openSync(join(dir, `${pad(firstSeq)}.jsonl`), 'a');
    // A segment left by a crashed process may end in a torn line: start on a fresh line (empty lines are skipped).
    if (fstatSync(handle).size > 0) writeSync(handle, '\n');
    if (!segments.includes(firstSeq)) segments.push(firstSeq);
    segmentSize = 0;
    return handle;
  }

  /** Writes the buffer with one synchronous write per segment; keeps it on failure and reports. */
  function writeNow(): void {
    scheduled = false;
    if (buffer.length === 0) return;
    try {
      if (fd === undefined || segmentSize >= limits.segmentBytes) {
        if (fd !== undefined) closeSync(fd);
        fd = undefined;
        fd = openSegment(bufferFirstSeq);
      }
      const text = buffer.join('');
      writeSync(fd, text);
      segmentSize += Buffer.byteLength(text);
      buffer = [];
      bufferBytes = 0;
      writeFailing = false;
    } catch (error) {
      if (!writeFailing) onError(error);
      writeFailing = true;
      // Retried on the next append or sync; the records stay in the buffer meanwhile.
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(writeNow);
  }

  async function loadFromDisk(max: number): Promise<void> {
    writeNow();
    // Records that could not be written yet are not on disk to read back; try again on the next call.
    if (buffer.length > 0) return;
    const from = spilledFrom as number;
    const loaded: SpoolRecord[] = [];
    for (let i = 0; i < segments.length && loaded.length < max; i++) {
      const next = segments[i + 1];
      if (next !== undefined && next <= from) continue;
      for (const record of await readSegment(dir, segments[i] as number)) {
        if (record.seq >= from && record.seq > ackedSeq && loaded.length < max) loaded.push(record);
      }
    }
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
      const seq = ++lastSeq;
      const full = { ...record, seq } as SpoolRecord;
      const line = `${encodeRecord(full)}\n`;
      if (buffer.length === 0) bufferFirstSeq = seq;
      buffer.push(line);
      bufferBytes += line.length;
      if (spilledFrom === undefined && memory.length < limits.maxMemoryRecords) memory.push(full);
      else spilledFrom ??= seq;
      if (bufferBytes >= limits.writeBufferBytes) writeNow();
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
      const body: AckFile = { ackedSeq: seq, openRuns: [...runs], state: nextState };
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

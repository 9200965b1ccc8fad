import { link, copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRecord, type SpoolRecord } from '../records.js';
import { ModelshipError } from '../../errors/index.js';
import { hasErrnoCode, readJsonFile, writeFileAtomic } from '../../platform/node/fs-atomic.js';

/** File holding what has been acknowledged: `{ ackedSeq, openRuns, state, writtenSeq }`. */
export const SPOOL_ACK_FILE = 'ack.json';
/** Directory holding artifact bytes until they are uploaded. */
export const SPOOL_BLOB_DIR = 'blobs';
/** Segment files: `<seq of their first record, 12 digits>.jsonl`. */
export const SEGMENT = /^(\d{12})\.jsonl$/;

/** `ack.json`: how far the spool has been delivered, the runs still open and the transport's state. */
export interface AckFile {
  ackedSeq: number;
  openRuns: string[];
  state: Record<string, unknown>;
  /** Newest record known written when this was saved: a deleted last segment would otherwise leave no trace. */
  writtenSeq?: number;
}

const isSeq = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** Reads `ack.json`; anything but what `ack()` writes is SPOOL_CORRUPT (the file is written atomically, so it is damage). */
export async function readAck(dir: string): Promise<AckFile> {
  const file = join(dir, SPOOL_ACK_FILE);
  let raw: Partial<AckFile> | null;
  try {
    raw = (await readJsonFile(file)) as Partial<AckFile> | null;
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) return { ackedSeq: 0, openRuns: [], state: {} };
    throw new ModelshipError('SPOOL_CORRUPT', `Could not read ${file}: ${(error as Error).message}`, {
      cause: error,
      details: { file },
    });
  }
  const valid =
    typeof raw === 'object' &&
    raw !== null &&
    !Array.isArray(raw) &&
    isSeq(raw.ackedSeq) &&
    Array.isArray(raw.openRuns) &&
    raw.openRuns.every((r) => typeof r === 'string') &&
    typeof raw.state === 'object' &&
    raw.state !== null &&
    !Array.isArray(raw.state) &&
    (raw.writtenSeq === undefined || isSeq(raw.writtenSeq));
  if (!valid)
    throw new ModelshipError('SPOOL_CORRUPT', `${file} is not an acknowledgement record (ackedSeq, openRuns, state).`, {
      details: { file },
    });
  return raw as AckFile;
}

/** A sequence number as a segment file name's 12 digits. */
export const pad = (seq: number): string => String(seq).padStart(12, '0');

/** The first sequence numbers of the segments in `dir`, oldest first. */
export async function listSegments(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch((error: unknown) =>
    hasErrnoCode(error, 'ENOENT') ? [] : Promise.reject(error),
  );
  return names
    .map((n) => SEGMENT.exec(n)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** A segment's records, and how many of its lines could not be read (torn or damaged). */
export async function readSegment(dir: string, first: number): Promise<{ records: SpoolRecord[]; unreadable: number }> {
  const text = await readFile(join(dir, `${pad(first)}.jsonl`), 'utf8').catch((error: unknown) =>
    hasErrnoCode(error, 'ENOENT') ? '' : Promise.reject(error),
  );
  const records: SpoolRecord[] = [];
  let unreadable = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const record = decodeRecord(line);
    if (record === undefined) unreadable += 1;
    else records.push(record);
  }
  return { records, unreadable };
}

/** Hard-links `from` to `to` (cheap, same filesystem), else copies it. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await link(from, to).catch(() => copyFile(from, to));
}

/**
 * Fills the fresh spool directory `into` with what can still be used of the damaged spool `from` (moved aside,
 * left untouched): its segments and artifact blobs, with an acknowledgement just before the oldest segment —
 * older segments are only ever removed once acknowledged. The transport state (server run ids…) is lost with
 * the damaged `ack.json`; records of runs whose start record is gone cannot be matched to their run.
 */
export async function salvageSpool(from: string, into: string): Promise<void> {
  const names = await readdir(from);
  const segments = names.filter((n) => SEGMENT.test(n)).sort();
  for (const name of segments) await linkOrCopy(join(from, name), join(into, name));
  const blobs = await readdir(join(from, SPOOL_BLOB_DIR)).catch(() => [] as string[]);
  if (blobs.length > 0) await mkdir(join(into, SPOOL_BLOB_DIR), { recursive: true });
  for (const name of blobs) await linkOrCopy(join(from, SPOOL_BLOB_DIR, name), join(into, SPOOL_BLOB_DIR, name));
  const first = segments[0] === undefined ? 1 : Number(SEGMENT.exec(segments[0])?.[1]);
  const ack: AckFile = { ackedSeq: Math.max(0, first - 1), openRuns: [], state: {} };
  await writeFileAtomic(join(into, SPOOL_ACK_FILE), JSON.stringify(ack));
}

import { createReadStream } from 'node:fs';
import { mkdir, open as openFile, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ModelshipError } from '../../errors/index.js';

/** Caps on what an archive may unpack to, and which files to keep. */
export interface ExtractLimits {
  /** Largest total size the entries declare, skipped ones included (default 8 GiB). */
  readonly maxBytes?: number;
  /** Most entries, counting directories, links and extended headers (default 10 000). */
  readonly maxEntries?: number;
  /**
   * Largest ratio of the declared content to the compressed archive's size (default 200). Real models compress
   * 1–5×; gzip can reach ~1000× only on runs of identical bytes, which is what a bomb is made of. Archives whose
   * content stays under {@link RATIO_FLOOR} bytes are never refused for their ratio.
   */
  readonly maxRatio?: number;
  /** Which regular files to write (by normalised name); the others are checked, read past and never written. */
  readonly select?: (name: string) => boolean;
  /** Told the name of each regular file that `select` skipped (for messages listing what the archive held). */
  readonly onSkip?: (name: string) => void;
}

/** Defaults of {@link ExtractLimits}. */
export const EXTRACT_DEFAULTS = { maxBytes: 8 * 1024 ** 3, maxEntries: 10_000, maxRatio: 200 } as const;
/** Content up to this size (64 MiB) is accepted whatever its compression ratio: small archives of padding are no threat. */
export const RATIO_FLOOR = 64 * 1024 * 1024;
// Linux's NAME_MAX and a path length well under PATH_MAX once joined to the destination.
const MAX_COMPONENT_BYTES = 255;
const MAX_NAME_BYTES = 1024;

/** One regular file written by {@link extractTarGz}. */
export interface ExtractedFile {
  /** Path inside the archive, normalised (`model/net.onnx`). */
  readonly name: string;
  /** Where it was written. */
  readonly path: string;
  readonly size: number;
}

const reject = (archive: string, entry: string | undefined, why: string): ModelshipError =>
  new ModelshipError(
    'ARCHIVE_REJECTED',
    `Refused ${archive}${entry === undefined ? '' : ` at entry ${JSON.stringify(entry)}`}: ${why}. Nothing from it was used.`,
    {
      details: { archive, ...(entry === undefined ? {} : { entry }) },
    },
  );

/** Reads exact byte counts from an async byte stream. */
class Reader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  constructor(private readonly it: AsyncIterator<Buffer>) {}
  private async want(n: number): Promise<void> {
    while (this.buf.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done === true) this.ended = true;
      else this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    }
  }
  /** `n` bytes, or fewer at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    await this.want(n);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }
  /** Up to `max` bytes (at least one unless the stream ended). */
  async some(max: number): Promise<Buffer> {
    await this.want(1);
    const out = this.buf.subarray(0, Math.min(max, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    return out;
  }
}

const cstr = (b: Buffer, start: number, len: number): string => {
  const slice = b.subarray(start, start + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString('utf8');
};

function octal(b: Buffer, start: number, len: number): number {
  const field = b.subarray(start, start + len);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    // GNU base-256: big-endian after the marker bit. Anything past 2^53 is refused by the size cap anyway.
    let n = (field[0] ?? 0) & 0x7f;
    for (const byte of field.subarray(1)) n = n * 256 + byte;
    return n;
  }
  const text = cstr(b, start, len).trim();
  return text === '' ? 0 : /^[0-7]+$/.test(text) ? parseInt(text, 8) : Number.NaN;
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
  return octal(h, 148, 8) === sum;
}

/** `name` normalised for extraction, or the reason it is refused. */
function safeName(name: string): { ok: string } | { why: string } {
  if (name.includes('\0')) return { why: 'the name contains a NUL byte' };
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name) || name.startsWith('\\'))
    return { why: 'the path is absolute' };
  if (name.includes('\\')) return { why: 'the path contains a backslash' };
  if (name.split('/').includes('..')) return { why: 'the path contains a ".." segment' };
  const normal = posix
    .normalize(name)
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  return { ok: normal === '.' ? '' : normal };
}

function parsePax(data: Buffer): Record<string, string> {
  // Null prototype: a "__proto__" record must stay an ordinary key.
  const out = Object.create(null) as Record<string, string>;
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const digits = data.subarray(i, space).toString();
    // Decimal only: Number() would also take "0x10", " 16" or "1e3".
    const len = /^[0-9]{1,9}$/.test(digits) ? Number(digits) : Number.NaN;
    if (!Number.isInteger(len) || len <= 0) break;
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

/** The size an entry declares (pax `size` in decimal, else the header field), NaN when malformed. */
function entrySize(pax: Record<string, string>, header: Buffer): number {
  if (pax.size === undefined) return octal(header, 124, 12);
  return /^[0-9]{1,16}$/.test(pax.size) ? Number(pax.size) : Number.NaN;
}

// What the filesystem says when two entries clash (a file where a directory must go, or the reverse; the same
// name twice) or a name cannot be created: the archive's fault, not an I/O failure.
const CLASH_CODES = new Set(['EEXIST', 'EISDIR', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EINVAL']);

/** Writes the next `size` bytes of `reader` to a new file at `path`; resolves false when the archive ends first. */
async function writeEntry(reader: Reader, path: string, size: number): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true });
  // 'wx': a second entry of the same name is a clash, never a silent overwrite.
  const handle: FileHandle = await openFile(path, 'wx');
  try {
    let left = size;
    while (left > 0) {
      const chunk = await reader.some(left);
      if (chunk.length === 0) return false;
      await handle.write(chunk);
      left -= chunk.length;
    }
    return true;
  } finally {
    await handle.close();
  }
}

/** Why a name cannot be written on common filesystems, if it cannot. */
function tooLong(name: string): string | undefined {
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `the name is longer than ${MAX_NAME_BYTES} bytes`;
  if (name.split('/').some((part) => Buffer.byteLength(part) > MAX_COMPONENT_BYTES))
    return `a path component is longer than ${MAX_COMPONENT_BYTES} bytes`;
  return undefined;
}

/**
 * Extracts the regular files of a `.tar.gz` that `select` keeps into `dest` (which must exist and be empty),
 * refusing the whole archive with ARCHIVE_REJECTED on: absolute paths, `..` segments, symbolic or hard links whose
 * target leads outside `dest`, device, FIFO or unknown entry types, more than `maxEntries` entries, declared sizes
 * adding up to more than `maxBytes` or to more than `maxRatio` times the archive's size, a malformed size, two kept
 * files that clash (same name, or one inside the other) or have over-long names, a bad header checksum, or a
 * truncated or corrupt gzip. The limits are checked against each header before any of its data is written.
 * Links and directories are not created (a model needs none, and not creating them means no later entry can be
 * written through one). Caller removes `dest` on failure.
 */
export async function extractTarGz(
  archive: string,
  dest: string,
  limits: ExtractLimits = {},
  label = archive,
): Promise<ExtractedFile[]> {
  const maxBytes = limits.maxBytes ?? EXTRACT_DEFAULTS.maxBytes;
  const maxEntries = limits.maxEntries ?? EXTRACT_DEFAULTS.maxEntries;
  const maxRatio = limits.maxRatio ?? EXTRACT_DEFAULTS.maxRatio;
  const select = limits.select ?? (() => true);
  const compressed = (await stat(archive)).size;
  const maxExpanded = Math.max(RATIO_FLOOR, compressed * maxRatio);
  const kept = new Set<string>();
  const source = createReadStream(archive);
  const gunzip = createGunzip();
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  const reader = new Reader(gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  const files: ExtractedFile[] = [];
  let entries = 0;
  let total = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    for (;;) {
      const header = await reader.read(512);
      if (header.length === 0)
        throw reject(label, undefined, 'the archive ends without its end-of-archive marker (truncated?)');
      if (header.length < 512) throw reject(label, undefined, 'the archive is truncated inside a header');
      if (header.every((b) => b === 0)) break;
      if (!checksumOk(header))
        throw reject(label, undefined, 'a header checksum is wrong (not a tar archive, or corrupt)');
      entries += 1;
      const ustar = header.subarray(257, 262).toString() === 'ustar';
      const prefix = ustar ? cstr(header, 345, 155) : '';
      const rawName =
        pax.path ?? longName ?? (prefix === '' ? cstr(header, 0, 100) : `${prefix}/${cstr(header, 0, 100)}`);
      const linkName = pax.linkpath ?? longLink ?? cstr(header, 157, 100);
      const size = entrySize(pax, header);
      const type = String.fromCharCode(header[156] as number);
      if (entries > maxEntries) throw reject(label, rawName, `the archive has more than ${maxEntries} entries`);
      if (!Number.isSafeInteger(size) || size < 0) throw reject(label, rawName, 'the entry size is invalid');
      const padded = Math.ceil(size / 512) * 512;
      const meta = type === 'x' || type === 'g' || type === 'L' || type === 'K';
      if (!meta) {
        pax = {};
        longName = undefined;
        longLink = undefined;
      }
      if (meta) {
        if (size > 1024 * 1024) throw reject(label, rawName, 'an extended header is larger than 1 MiB');
        const data = await reader.read(padded);
        if (data.length < padded) throw reject(label, rawName, 'the archive is truncated');
        const body = data.subarray(0, size);
        if (type === 'x') pax = parsePax(body);
        else if (type === 'L') longName = cstr(body, 0, body.length);
        else if (type === 'K') longLink = cstr(body, 0, body.length);
        continue;
      }
      const checked = safeName(rawName);
      if ('why' in checked) throw reject(label, rawName, checked.why);
      const name = checked.ok;
      if (type === '2' || type === '1') {
        if (linkName.startsWith('/') || /^[A-Za-z]:/.test(linkName))
          throw reject(label, rawName, `the link points at the absolute path ${JSON.stringify(linkName)}`);
        const target =
          type === '2' ? posix.normalize(posix.join(posix.dirname(name), linkName)) : posix.normalize(linkName);
        if (target === '..' || target.startsWith('../'))
          throw reject(label, rawName, `the link points outside the archive (${JSON.stringify(linkName)})`);
      } else if (type !== '0' && type !== '\0' && type !== '7' && type !== '5') {
        const kind =
          { '3': 'a character device', '4': 'a block device', '6': 'a FIFO' }[type] ??
          `an unsupported entry type ${JSON.stringify(type)}`;
        throw reject(label, rawName, `the entry is ${kind}`);
      }
      const file = type === '0' || type === '\0' || type === '7';
      // Every entry's data is decompressed (even to skip it), so every declared size counts.
      total += size;
      if (total > maxBytes) throw reject(label, rawName, `the entries add up to more than ${maxBytes} bytes`);
      if (total > maxExpanded) {
        throw reject(
          label,
          rawName,
          `the entries declare ${total}+ bytes from a ${compressed}-byte archive, more than ${maxRatio} times its size (a decompression bomb?)`,
        );
      }
      if (file && name === '') throw reject(label, rawName, 'a file has an empty name');
      if (file && select(name)) {
        const why = tooLong(name) ?? (kept.has(name) ? 'the archive holds this file twice' : undefined);
        if (why !== undefined) throw reject(label, rawName, why);
        kept.add(name);
        const path = join(dest, ...name.split('/'));
        const complete = await writeEntry(reader, path, size).catch((error: unknown) => {
          const code = (error as { code?: unknown }).code;
          if (typeof code !== 'string' || !CLASH_CODES.has(code)) throw error;
          throw reject(label, rawName, `the name clashes with another entry or cannot be created (${code})`);
        });
        if (!complete) throw reject(label, rawName, 'the archive is truncated inside this file');
        const pad = await reader.read(padded - size);
        if (pad.length < padded - size) throw reject(label, rawName, 'the archive is truncated');
        files.push({ name, path, size });
      } else {
        // Skipped files, directories and in-archive links: read past whatever data they declare, writing nothing.
        if (file) limits.onSkip?.(name);
        let left = padded;
        while (left > 0) {
          const chunk = await reader.some(left);
          if (chunk.length === 0) throw reject(label, rawName, 'the archive is truncated');
          left -= chunk.length;
        }
      }
    }
  } catch (error) {
    if (ModelshipError.isInstance(error)) throw error;
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('Z_'))
      throw new ModelshipError(
        'ARCHIVE_REJECTED',
        `Refused ${label}: the gzip stream is truncated or corrupt (${code}). Nothing from it was used.`,
        { cause: error, details: { archive: label } },
      );
    throw error;
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  return files;
}

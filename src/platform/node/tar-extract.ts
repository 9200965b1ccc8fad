import { createReadStream } from 'node:fs';
import { mkdir, open as openFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ModelshipError } from '../../errors/index.js';

/** Caps on what an archive may unpack to. */
export interface ExtractLimits {
  /** Largest total size of the files' contents (default 8 GiB). */
  readonly maxBytes?: number;
  /** Most entries, counting directories, links and extended headers (default 10 000). */
  readonly maxEntries?: number;
}

/** One regular file written by {@link extractTarGz}. */
export interface ExtractedFile {
  /** Path inside the archive, normalised (`model/net.onnx`). */
  readonly name: string;
  /** Where it was written. */
  readonly path: string;
  readonly size: number;
}

const reject = (archive: string, entry: string | undefined, why: string): ModelshipError =>
  new ModelshipError('ARCHIVE_REJECTED', `Refused ${archive}${entry === undefined ? '' : ` at entry ${JSON.stringify(entry)}`}: ${why}. Nothing from it was used.`, {
    details: { archive, ...(entry === undefined ? {} : { entry }) },
  });

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
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name) || name.startsWith('\\')) return { why: 'the path is absolute' };
  if (name.includes('\\')) return { why: 'the path contains a backslash' };
  if (name.split('/').includes('..')) return { why: 'the path contains a ".." segment' };
  const normal = posix.normalize(name).replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return { ok: normal === '.' ? '' : normal };
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number(data.subarray(i, space).toString());
    if (!Number.isInteger(len) || len <= 0) break;
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * Extracts the regular files of a `.tar.gz` into `dest` (which must exist and be empty), refusing the whole archive
 * with ARCHIVE_REJECTED on: absolute paths, `..` segments, symbolic or hard links whose target leads outside `dest`,
 * device, FIFO or unknown entry types, more than `maxEntries` entries, more than `maxBytes` of content, a bad header
 * checksum, or a truncated or corrupt gzip. Links that stay inside are not created (a model needs none, and not
 * creating them means no later entry can be written through one). Caller removes `dest` on failure.
 */
export async function extractTarGz(archive: string, dest: string, limits: ExtractLimits = {}, label = archive): Promise<ExtractedFile[]> {
  const maxBytes = limits.maxBytes ?? 8 * 1024 ** 3;
  const maxEntries = limits.maxEntries ?? 10_000;
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
      if (header.length === 0) throw reject(label, undefined, 'the archive ends without its end-of-archive marker (truncated?)');
      if (header.length < 512) throw reject(label, undefined, 'the archive is truncated inside a header');
      if (header.every((b) => b === 0)) break;
      if (!checksumOk(header)) throw reject(label, undefined, 'a header checksum is wrong (not a tar archive, or corrupt)');
      entries += 1;
      const ustar = header.subarray(257, 262).toString() === 'ustar';
      const prefix = ustar ? cstr(header, 345, 155) : '';
      const rawName = pax.path ?? longName ?? (prefix === '' ? cstr(header, 0, 100) : `${prefix}/${cstr(header, 0, 100)}`);
      const linkName = pax.linkpath ?? longLink ?? cstr(header, 157, 100);
      const size = pax.size !== undefined ? Number(pax.size) : octal(header, 124, 12);
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
        if (linkName.startsWith('/') || /^[A-Za-z]:/.test(linkName)) throw reject(label, rawName, `the link points at the absolute path ${JSON.stringify(linkName)}`);
        const target = type === '2' ? posix.normalize(posix.join(posix.dirname(name), linkName)) : posix.normalize(linkName);
        if (target === '..' || target.startsWith('../')) throw reject(label, rawName, `the link points outside the archive (${JSON.stringify(linkName)})`);
      } else if (type !== '0' && type !== '\0' && type !== '7' && type !== '5') {
        const kind = { '3': 'a character device', '4': 'a block device', '6': 'a FIFO' }[type] ?? `an unsupported entry type ${JSON.stringify(type)}`;
        throw reject(label, rawName, `the entry is ${kind}`);
      }
      if (type === '0' || type === '\0' || type === '7') {
        total += size;
        if (total > maxBytes) throw reject(label, rawName, `the files add up to more than ${maxBytes} bytes`);
        if (name === '') throw reject(label, rawName, 'a file has an empty name');
        const path = join(dest, ...name.split('/'));
        await mkdir(dirname(path), { recursive: true });
        const handle: FileHandle = await openFile(path, 'w');
        try {
          let left = size;
          while (left > 0) {
            const chunk = await reader.some(left);
            if (chunk.length === 0) throw reject(label, rawName, 'the archive is truncated inside this file');
            await handle.write(chunk);
            left -= chunk.length;
          }
        } finally {
          await handle.close();
        }
        const pad = await reader.read(padded - size);
        if (pad.length < padded - size) throw reject(label, rawName, 'the archive is truncated');
        files.push({ name, path, size });
      } else {
        // Directories and in-archive links carry no data we keep; skip whatever data they declare.
        if (type === '5' && name !== '') await mkdir(join(dest, ...name.split('/')), { recursive: true });
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
    if (typeof code === 'string' && code.startsWith('Z_')) throw new ModelshipError('ARCHIVE_REJECTED', `Refused ${label}: the gzip stream is truncated or corrupt (${code}). Nothing from it was used.`, { cause: error, details: { archive: label } });
    throw error;
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  return files;
}

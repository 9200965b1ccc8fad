import { gzipSync } from 'node:zlib';

/** One entry of a tar archive to write. */
export interface TarEntry {
  readonly name: string;
  readonly data?: Uint8Array;
  /** Tar type flag: `'0'` file (default), `'5'` directory, `'2'` symlink, `'1'` hard link, `'3'`/`'4'` devices. */
  readonly type?: string;
  readonly linkname?: string;
}

/** One ustar header block with its checksum (exported for tests that build archives by hand). */
export function tarHeader(name: string, size: number, type = '0', linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write(
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
  );
  h.write('        ', 148);
  h.write(type, 156);
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

/** A POSIX (pax) tar archive of `entries`, gzipped: what `tar czf` writes, for SageMaker's `model.tar.gz`. */
export function createTarGz(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? new Uint8Array());
    const type = e.type ?? '0';
    const linkname = e.linkname ?? '';
    if (Buffer.byteLength(e.name) > 100 || Buffer.byteLength(linkname) > 100) {
      // Long names go in a pax extended header, as GNU and bsdtar write them.
      const records = [`path=${e.name}`, ...(linkname === '' ? [] : [`linkpath=${linkname}`])].map((r) => {
        // The length counts its own digits: iterate to the fixed point.
        const body = Buffer.byteLength(r) + 2;
        let len = body + 1;
        while (String(len).length + body !== len) len = String(len).length + body;
        return `${len} ${r}\n`;
      });
      const body = Buffer.from(records.join(''));
      parts.push(tarHeader('PaxHeader', body.length, 'x'), body, pad(body.length));
    }
    const size = type === '0' ? data.length : 0;
    parts.push(tarHeader(e.name.slice(0, 100), size, type, linkname.slice(0, 100)));
    if (size > 0) parts.push(data, pad(size));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

/**
 * CRC32C (Castagnoli), the checksum Cloud Storage keeps for every object (`crc32c`: base64 of the big-endian value).
 * Composite objects have no MD5, so this is the only digest GCS offers for them. Table-driven, one table built once.
 */
const TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** An incremental CRC32C: feed chunks with `update`, read the GCS form with `base64()`. */
export interface Crc32c {
  update(chunk: Uint8Array): Crc32c;
  /** Base64 of the 4 big-endian bytes, as GCS spells `crc32c`. */
  base64(): string;
}

/** Starts a CRC32C. */
export function crc32c(): Crc32c {
  let crc = 0xffffffff;
  const self: Crc32c = {
    update(chunk) {
      let c = crc;
      for (let i = 0; i < chunk.length; i++) c = (TABLE[(c ^ (chunk[i] as number)) & 0xff] as number) ^ (c >>> 8);
      crc = c;
      return self;
    },
    base64() {
      const out = Buffer.alloc(4);
      out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
      return out.toString('base64');
    },
  };
  return self;
}

import type { BigIntStats, Stats } from 'node:fs';

/**
 * What identifies a file's content without reading it: device, inode, size, modification and change times.
 * Any write, truncate, rename over or `utimes` changes the change time, which no user can set back, so an
 * unchanged identity means unchanged content (git's index relies on the same). Nanoseconds when the stat was
 * taken with `{ bigint: true }`.
 */
export function fileIdentity(
  info:
    | Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs' | 'ctimeMs'>
    | Pick<BigIntStats, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>,
): string {
  return 'mtimeNs' in info
    ? `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`
    : `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}

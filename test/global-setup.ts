/**
 * Builds dist/ once before the tests that use the package as users get it (exports, examples), and only when
 * a source file is newer than the last build, so tests never rebuild dist under each other's feet.
 */
import { execFile } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');

async function newest(dir: string): Promise<number> {
  let latest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? await newest(path) : (await stat(path)).mtimeMs);
  }
  return latest;
}

export default async function setup(): Promise<void> {
  const sources = Math.max(
    await newest(join(root, 'src')),
    ...(await Promise.all(['package.json', 'tsup.config.ts'].map(async (f) => (await stat(join(root, f))).mtimeMs))),
  );
  const built = await stat(stamp).then((s) => s.mtimeMs, () => 0);
  if (built > sources) return;
  await promisify(execFile)(process.execPath, [join(root, 'node_modules/tsup/dist/cli-default.js')], { cwd: root });
  await writeFile(stamp, new Date().toISOString());
}

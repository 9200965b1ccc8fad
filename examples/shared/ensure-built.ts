/**
 * The examples import `modelship` as users do — through its package.json "exports", i.e. the built dist/ —
 * and the repository links it into node_modules (npm workspaces). This builds dist/ when it is missing or
 * older than the sources, so a fresh clone's `npm install`, then any example's start command, just works.
 * Run as a script (`tsx ../shared/ensure-built.ts`) or call `ensureBuilt()`.
 */
import { execFile } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');

async function newest(dir: string): Promise<number> {
  let latest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? await newest(path) : (await stat(path)).mtimeMs);
  }
  return latest;
}

/** Builds dist/ with tsup unless it is newer than every file under src/, package.json and tsup.config.ts. Resolves whether it built. */
export async function ensureBuilt(log: (line: string) => void = () => undefined): Promise<boolean> {
  const sources = Math.max(
    await newest(join(root, 'src')),
    ...(await Promise.all(['package.json', 'tsup.config.ts'].map(async (f) => (await stat(join(root, f))).mtimeMs))),
  );
  const built = await stat(stamp).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  if (built > sources) return false;
  log('Building modelship (dist/) from this repository…');
  await promisify(execFile)(process.execPath, [join(root, 'node_modules/tsup/dist/cli-default.js')], { cwd: root });
  await writeFile(stamp, new Date().toISOString());
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await ensureBuilt((line) => console.log(line));
}

/** Real Git repositories for the DVC registry tests: a bare origin with a DVC project, and a working clone. */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Data Scientist',
  GIT_AUTHOR_EMAIL: 'ds@example.com',
  GIT_COMMITTER_NAME: 'Data Scientist',
  GIT_COMMITTER_EMAIL: 'ds@example.com',
  GIT_TERMINAL_PROMPT: '0',
};

/** Runs git in `cwd` as a user would; resolves stdout. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await run('git', args, { cwd, env: ENV, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** Writes files (creating directories) under `dir`. */
export async function writeFiles(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/**
 * `.dvc/config` as `dvc remote add -d storage <url>` writes it, plus `dvc remote modify storage <key> <value>` for
 * `endpointurl` and each of `settings` (`account_name`, `connection_string`, `credentialpath`, …).
 */
export function dvcConfig(url: string, endpointUrl?: string, settings: Record<string, string> = {}): string {
  const more = { ...(endpointUrl === undefined ? {} : { endpointurl: endpointUrl }), ...settings };
  const lines = Object.entries(more).map(([k, v]) => `    ${k} = ${v}\n`);
  return `[core]\n    remote = storage\n['remote "storage"']\n    url = ${url}\n${lines.join('')}`;
}

/**
 * A bare repository `<root>/<name>.git` (accepting pushes over HTTP) whose `main` holds a DVC project (`dvc init`'s
 * `.dvc/.gitignore` and a config naming `remoteUrl`), and a working clone of it in `<root>/<name>-work`.
 */
export async function createDvcOrigin(
  root: string,
  name: string,
  remoteUrl: string,
  endpointUrl?: string,
  settings: Record<string, string> = {},
): Promise<{ bare: string; work: string }> {
  const bare = join(root, `${name}.git`);
  const work = join(root, `${name}-work`);
  await mkdir(bare, { recursive: true });
  await git(bare, 'init', '--quiet', '--bare', '-b', 'main');
  await git(bare, 'config', 'http.receivepack', 'true');
  await mkdir(work, { recursive: true });
  await git(work, 'init', '--quiet', '-b', 'main');
  await writeFiles(work, {
    '.dvc/.gitignore': '/config.local\n/tmp\n/cache\n',
    '.dvc/config': dvcConfig(remoteUrl, endpointUrl, settings),
    '.dvcignore': '# Add patterns of files dvc should ignore\n',
  });
  await git(work, 'add', '.dvc/.gitignore', '.dvc/config', '.dvcignore');
  await git(work, 'commit', '--quiet', '-m', 'Initialize DVC');
  await git(work, 'remote', 'add', 'origin', bare);
  await git(work, 'push', '--quiet', 'origin', 'main');
  return { bare, work };
}

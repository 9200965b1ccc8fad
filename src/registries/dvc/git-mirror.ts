import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelshipError } from '../../errors/index.js';
import { maskCredentials, runGit } from '../../clients/git/git-runner.js';
import { buildArtifacts, parseTagListing, TAG_FORMAT, type GtoArtifact } from './gto-tags.js';

/** A bare clone of the model repository in the cache, kept in step with its origin. */
export interface GitMirror {
  /** The bare clone's directory. */
  readonly dir: string;
  /** Makes sure the clone exists and has the origin's branches and tags (`git ls-remote`, then a fetch if they moved). */
  sync(signal?: AbortSignal): Promise<void>;
  /** The artifacts the clone's tags describe. */
  artifacts(): Promise<Map<string, GtoArtifact>>;
  /** A file's content at `commit`, or `undefined` when the commit has no such file. */
  read(commit: string, path: string, signal?: AbortSignal): Promise<Buffer | undefined>;
  /** The origin's default branch (what HEAD names in the clone). */
  defaultBranch(): Promise<string>;
  /** Runs git in the clone. */
  git(
    args: readonly string[],
    what: string,
    extra?: { input?: string | Uint8Array; env?: Record<string, string> },
  ): Promise<string>;
}

/** The repository location as git takes it: a URL, `user@host:path`, or an absolute local path. */
export function repoLocation(repo: string, cwd: string = process.cwd()): string {
  if (repo.startsWith('-'))
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'The DVC registry repo must not start with "-"; pass a path or a git URL.',
    );
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[\w.-]+@[\w.-]+:/.test(repo)) return repo;
  return join(repo.startsWith('/') ? '' : cwd, repo);
}

/** The clone's directory for `location` under `root`: named by a hash, so no credential lands in a path. */
export function mirrorDir(root: string, location: string): string {
  return join(root, 'git', `${createHash('sha256').update(location).digest('hex').slice(0, 24)}.git`);
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Opens (cloning on first use) the bare mirror of `location` in `dir`. */
export function openGitMirror(location: string, dir: string): GitMirror {
  let pending: Promise<void> | undefined;
  const safe = maskCredentials(location);

  const git = (
    args: readonly string[],
    what: string,
    extra: { input?: string | Uint8Array; env?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<string> => runGit(args, { cwd: dir, what, ...extra });

  async function clone(signal?: AbortSignal): Promise<void> {
    await mkdir(dirname(dir), { recursive: true });
    const temp = `${dir}.${randomUUID()}.tmp`;
    try {
      await runGit(['clone', '--bare', '--quiet', '--', location, temp], {
        what: `cloning the model repository ${safe}`,
        ...(signal === undefined ? {} : { signal }),
      });
      // A bare clone fetches nothing by default: mirror branches and tags (the registry is the tags).
      await runGit(['config', 'remote.origin.fetch', '+refs/heads/*:refs/heads/*'], {
        cwd: temp,
        what: 'configuring the clone',
      });
      await runGit(['config', '--add', 'remote.origin.fetch', '+refs/tags/*:refs/tags/*'], {
        cwd: temp,
        what: 'configuring the clone',
      });
      await rename(temp, dir).catch(async (error: unknown) => {
        if (!(await exists(join(dir, 'HEAD')))) throw error; // another process cloned it first: use theirs
      });
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  const refsOf = (text: string): string =>
    text
      .split('\n')
      .map((l) => l.trim().replace(/\s+/, ' '))
      .filter((l) => l !== '' && !l.endsWith('^{}') && !l.endsWith(' HEAD'))
      .sort()
      .join('\n');

  async function doSync(signal?: AbortSignal): Promise<void> {
    if (!(await exists(join(dir, 'HEAD')))) return clone(signal);
    const opts = signal === undefined ? {} : { signal };
    const remote = await git(
      ['ls-remote', '--', 'origin', 'refs/heads/*', 'refs/tags/*'],
      `listing the tags of ${safe}`,
      opts,
    );
    const local = await git(
      ['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads', 'refs/tags'],
      'listing local tags',
    );
    if (refsOf(remote) === refsOf(local)) return;
    await git(['fetch', '--quiet', '--prune', '--prune-tags', '--force', 'origin'], `fetching ${safe}`, opts);
  }

  const sync = (signal?: AbortSignal): Promise<void> => {
    // Concurrent resolves share one round trip to the origin.
    pending ??= doSync(signal).finally(() => (pending = undefined));
    return pending;
  };

  return {
    dir,
    sync,
    async artifacts() {
      return buildArtifacts(
        parseTagListing(await git(['for-each-ref', `--format=${TAG_FORMAT}`, 'refs/tags'], 'reading tags')),
      );
    },
    async read(commit, path, signal) {
      // A fetch straight after a restart (a resolved model from the cache) may come before any clone.
      if (!(await exists(join(dir, 'HEAD')))) await sync(signal);
      try {
        return await runGit(['cat-file', 'blob', `${commit}:${path}`], {
          cwd: dir,
          binary: true,
          what: 'reading a file at a tag',
          ...(signal === undefined ? {} : { signal }),
        });
      } catch (error) {
        if (ModelshipError.hasCode(error, 'INTERNAL')) return undefined; // no such path at that commit
        throw error;
      }
    },
    async defaultBranch() {
      const head = (
        await git(['symbolic-ref', '--quiet', 'HEAD'], 'reading the default branch').catch(() => '')
      ).trim();
      return head.startsWith('refs/heads/') ? head.slice('refs/heads/'.length) : 'main';
    },
    git: (args, what, extra) => git(args, what, extra),
  };
}

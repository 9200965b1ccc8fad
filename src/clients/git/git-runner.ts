import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ModelshipError } from '../../errors/index.js';

/** Options of one git invocation. */
export interface GitRunOptions {
  /** Directory git runs in (`-C`); a bare repository's directory works too. */
  readonly cwd?: string;
  /** Written to git's stdin. */
  readonly input?: string | Uint8Array;
  /** Extra environment (merged over the process's, with prompts disabled). */
  readonly env?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Output as bytes (blob contents) instead of text. */
  readonly binary?: boolean;
  /** What the call does, for messages ("fetching tags"). */
  readonly what: string;
}

const AUTH =
  /authentication failed|could not read (username|password)|permission denied|\b40[13]\b|access denied|terminal prompts disabled/i;
const REJECTED = /!\s*\[(remote )?rejected\]/;
const UNREACHABLE =
  /could not read from remote|unable to access|connection refused|could not resolve host|timed out|does not appear to be a git repository|unable to connect|early eof|the remote end hung up|failed to connect/i;

/**
 * Classifies a failed git run. Authentication failures become REGISTRY_AUTH_FAILED, an unreachable remote (or a
 * repository path that is gone) REGISTRY_UNAVAILABLE (retryable: the cache may answer), anything else `fallback`.
 * Git's stderr is kept in `details.stderr` only after credentials in URLs are masked; messages never carry it whole.
 */
export function gitError(
  what: string,
  stderr: string,
  fallback: ModelshipError | undefined,
  cause: unknown,
): ModelshipError {
  // git's `hint:` lines (advice) can follow the lines that say what happened; they are left out.
  const lines = maskCredentials(stderr)
    .trim()
    .split('\n')
    .filter((line) => !line.startsWith('hint:'));
  const clean = lines.slice(-3).join(' | ').slice(0, 400);
  if (AUTH.test(stderr))
    return new ModelshipError(
      'REGISTRY_AUTH_FAILED',
      `Git refused the credentials while ${what}. Check the token in your git credential helper or SSH key; modelship never prompts.`,
      { cause, details: { stderr: clean } },
    );
  // A rejected push reached the remote: after an atomic push fails, git also says "the remote end hung up".
  if (UNREACHABLE.test(stderr) && !REJECTED.test(stderr))
    return new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      `The git repository could not be reached while ${what} (${clean}). Retry once it is reachable.`,
      { cause, details: { stderr: clean } },
    );
  return (
    fallback ??
    new ModelshipError('INTERNAL', `git failed while ${what}: ${clean}`, { cause, details: { stderr: clean } })
  );
}

/** Replaces `user:password@` in URLs with `***@`, so a credential in a remote URL never reaches a message. */
export function maskCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

/**
 * Runs the real `git` binary (never a shell) and resolves its stdout. Prompts are disabled, so a missing credential
 * fails instead of hanging. Failures are typed with {@link gitError}; a missing git binary is DEPENDENCY_MISSING.
 *
 * @example
 * ```ts
 * const tags = await runGit(['for-each-ref', 'refs/tags'], { cwd: repoDir, what: 'listing tags' });
 * ```
 */
export function runGit(args: readonly string[], options: GitRunOptions & { binary: true }): Promise<Buffer>;
export function runGit(args: readonly string[], options: GitRunOptions): Promise<string>;
export function runGit(args: readonly string[], options: GitRunOptions): Promise<string | Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      [...args],
      {
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        encoding: 'buffer',
        maxBuffer: 512 * 1024 * 1024,
        windowsHide: true,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never', LC_ALL: 'C', ...options.env },
      },
      (error, stdout, stderr) => {
        if (error === null) return resolve(options.binary === true ? stdout : stdout.toString('utf8'));
        // spawn reports a missing working directory as ENOENT too: only a missing binary is a missing dependency.
        const enoent = (error as NodeJS.ErrnoException).code === 'ENOENT';
        if (enoent && (options.cwd === undefined || existsSync(options.cwd)))
          return reject(
            new ModelshipError(
              'DEPENDENCY_MISSING',
              'The git binary was not found on PATH; install git (apt-get install git) to use the DVC registry.',
              { cause: error },
            ),
          );
        if (enoent)
          return reject(
            new ModelshipError('INTERNAL', `The git directory is missing while ${options.what}.`, { cause: error }),
          );
        if (error.name === 'AbortError')
          return reject(new ModelshipError('ABORTED', `Aborted while ${options.what}.`, { cause: error }));
        reject(gitError(options.what, stderr.toString('utf8'), undefined, error));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

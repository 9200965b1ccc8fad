/**
 * Runs the BUILT `modelship` command (dist/cli.js, what package.json "bin" points at) in a child process, as a
 * user's shell or a CI job does. The vitest global setup has built dist/.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startProcess, type RunningProcess } from '../helpers/process.js';

/** The executable package.json "bin" names. */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** A finished command: its exit code and what it printed. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `modelship <args>` to completion (no colours: NO_COLOR is set unless `env` says otherwise). */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a long-running `modelship <args>` (serve) and resolves once its output matches `ready`. */
export function startCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; ready: RegExp },
): Promise<RunningProcess> {
  return startProcess(process.execPath, [CLI, ...args], { ...options, env: { NO_COLOR: '1', ...options.env } });
}

/** Long-running commands for end-to-end tests (servers started the way a user starts them). */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export interface RunningProcess {
  readonly child: ChildProcess;
  /** The first match of `ready` in the output. */
  readonly match: RegExpExecArray;
  output(): string;
  /** SIGTERM to the whole process group (as Ctrl-C reaches npm and what it started), then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Spawns a command in its own process group and resolves once its output (stdout or stderr) matches
 * `ready`; rejects with the output if it exits first.
 */
export async function startProcess(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; ready: RegExp },
): Promise<RunningProcess> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = options.ready.exec(output);
      if (m) resolve(m);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${command} ${args.join(' ')} exited with ${code} before it was ready:\n${output}`)),
    );
  });
  return {
    child,
    match,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      process.kill(-(child.pid as number), 'SIGTERM');
      await exited;
    },
  };
}

/** A port that was free a moment ago, for servers that cannot be told to pick one (`next start`). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

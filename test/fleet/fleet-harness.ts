/**
 * The fleet under test: replicas as child processes (test/fleet/replica.ts) on their own ports, a load
 * generator sending one request per connection (so a round-robin balancer spreads them), and readers of each
 * replica's deployment status. Shared by test/fleet/*.test.ts and `npm run soak:fleet`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { FLEET_ADMIN_TOKEN } from './fleet-token.js';

const REPLICA = fileURLToPath(new URL('./replica.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One `EVENT` line of a replica. */
export interface ReplicaEvent {
  readonly replica: string;
  readonly deployment: string;
  readonly event: string;
  readonly payload: Record<string, unknown>;
}

export interface Replica {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly events: ReplicaEvent[];
  output(): string;
  /** SIGKILL: no drain, in-flight requests are cut. */
  kill(): Promise<void>;
  /** SIGTERM: drains, then exits. */
  stop(): Promise<void>;
}

/**
 * A free port below the kernel's ephemeral range (32768 and up on Linux): a replica restarted on the port it had
 * must find it free, and a port from the ephemeral range can meanwhile become the source port of an outgoing
 * connection (even one to itself: TCP's self-connect), which a balancer would then take for the replica.
 */
export async function replicaPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
  }
}

/** Starts a replica (on a port from {@link replicaPort} unless given); resolves once it serves (its fleet joined). */
export async function startReplica(name: string, env: Record<string, string>, port?: number): Promise<Replica> {
  port ??= await replicaPort();
  const child = spawn(process.execPath, ['--import', 'tsx', REPLICA], {
    cwd: ROOT,
    env: { ...process.env, ...env, FLEET_REPLICA: name, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: ReplicaEvent[] = [];
  let output = '';
  let rest = '';
  const ready = new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      rest += chunk.toString();
      const lines = rest.split('\n');
      rest = lines.pop() as string;
      for (const l of lines) {
        const space = l.indexOf(' ');
        const kind = l.slice(0, space);
        if (kind === 'READY') resolve((JSON.parse(l.slice(space + 1)) as { port: number }).port);
        else if (kind === 'EVENT') events.push(JSON.parse(l.slice(space + 1)) as ReplicaEvent);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) =>
      reject(new Error(`replica ${name} exited (${code ?? signal}) before it was ready:\n${output}`)),
    );
  });
  const exited = once(child, 'exit');
  const bound = await ready;
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    name,
    port: bound,
    child,
    events,
    output: () => output,
    async kill() {
      if (gone()) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (gone()) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** What one request came back with: a status and the version that answered, or the socket error. */
export interface Outcome {
  readonly status: number;
  readonly version?: string;
  readonly error?: string;
}

/** POSTs `body` to `port`/`path` on a new connection (as a client behind a balancer would arrive). */
export function send(port: number, path: string, body: string, key?: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          connection: 'close',
          ...(key === undefined ? {} : { 'x-modelship-route-key': key }),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, version: res.headers['x-modelship-version'] as string | undefined }),
        );
        res.on('error', (error) => resolve({ status: 0, error: error.message }));
      },
    );
    req.on('error', (error) => resolve({ status: 0, error: error.message }));
    req.end(body);
  });
}

/** Sends `count` requests, `concurrency` at a time; `key(i)` gives request i's routing key. */
export async function load(
  port: number,
  path: string,
  body: string,
  count: number,
  concurrency: number,
  key: (i: number) => string | undefined = () => undefined,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        outcomes[i] = await send(port, path, body, key(i));
      }
    }),
  );
  return outcomes;
}

/** A deployment's status as a replica's admin route shows it. */
export interface ShownStatus {
  readonly stable: { readonly version: string };
  readonly canary?: { readonly version: string; readonly weight: number };
  readonly progressive?: { readonly step: number; readonly halted: boolean };
}

/** GET /admin/deployments/{name} on one replica. */
export function status(port: number, deployment: string): Promise<ShownStatus> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/admin/deployments/${deployment}`,
        agent: false,
        headers: { authorization: `Bearer ${FLEET_ADMIN_TOKEN}` },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(JSON.parse(text) as ShownStatus)
            : reject(new Error(`${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** POST /admin/deployments/{name} with an action on one replica; resolves with the status code. */
export function admin(port: number, deployment: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/admin/deployments/${deployment}`,
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${FLEET_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The routing part of a status, to compare replicas. */
export function routing(s: ShownStatus): string {
  return JSON.stringify({
    stable: s.stable.version,
    canary: s.canary && { version: s.canary.version, weight: s.canary.weight },
    progressive: s.progressive && { step: s.progressive.step, halted: s.progressive.halted },
  });
}

/** HTTP cases: each server runs in its own child process; autocannon (as a library) loads it from this one. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { percentile } from './measure.js';

export interface RunningServer {
  readonly url: string;
  /** Stops the server; resolves with what it reported on its way out (a "STATS <json>" line), if anything. */
  stop(): Promise<unknown>;
}

/** Starts `bench/servers/<name>.ts` under tsx and waits for its "READY <port>" line. */
export async function startServer(name: string, env: Record<string, string>): Promise<RunningServer> {
  const script = fileURLToPath(new URL(`./servers/${name}.ts`, import.meta.url));
  // BENCH_SERVER_NODE_ARGS="--cpu-prof" profiles the servers.
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...extra, '--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let reported: unknown;
  lines.on('line', (line) => {
    if (line.startsWith('STATS ')) reported = JSON.parse(line.slice(6)) as unknown;
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`bench server ${name} exited with code ${code} before it was ready`)),
    );
    lines.on('line', (line) => {
      const m = /^READY (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      return reported;
    },
  };
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

/** autocannon with `connections` connections posting `body` to `url` for `seconds`. */
export async function load(url: string, body: string, connections: number, seconds: number): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
  });
  return {
    requestsPerSecond: result.requests.total / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/**
 * Polls `url` every `everyMs` until stopped; latencies in ms, added to `samples` (pass the same array to
 * several probes to summarize them together). Shows whether health checks still get through.
 */
export function probe(
  url: string,
  everyMs: number,
  samples: number[] = [],
): { stop(): Promise<{ p50: number; p99: number; max: number; count: number }> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const res = await fetch(url);
      await res.arrayBuffer();
      samples.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const sorted = [...samples].sort((a, b) => a - b);
      return {
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.at(-1) ?? 0,
        count: sorted.length,
      };
    },
  };
}

/**
 * `npm run soak [-- --minutes N]` (30 by default): everything at once, for the whole run, against a real HTTP
 * server in this process:
 * - steady keep-alive load on both protocols (`/models/mnist/predict`, `/v2/models/mnist/infer`), real MNIST
 *   rows, from another process (bench/soak-peer.ts) so it does not count in this one's memory or event loop;
 * - `mnist@production` moved between two versions in the local registry every few seconds, followed by a
 *   deployment with `watch`: a hot swap each time (load, switch, drain, close);
 * - a metric per 100 requests logged to the spooled MLflow tracker, whose server (test/servers/mlflow-tracking/,
 *   in the peer process) is down 10 s of every 60.
 * At the end the tracker is flushed and the points the server received are counted. Progress every 30 s, then a
 * summary; results in bench/results/soak-<time>.json. Exits non-zero on any failed request (non-2xx or
 * network error), any lost metric, a missed swap, or RSS growth of 10 % or more (after the warm-up).
 * `--seconds N` (or SOAK_SECONDS) runs a short smoke. See docs/reliability.md.
 */
import { fork } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createMlflowTracker, silentLogger } from 'modelship';
import { moveAlias, serveFollowingDeployment } from './alias-swaps.js';
import type { LoadStats, LoadTarget, PeerCommand, PeerReply } from './soak-peer.js';

export interface SoakOptions {
  readonly durationMs: number;
  readonly connections: number;
  readonly swapEveryMs: number;
  /** The tracking server goes down `outageMs` out of every `outageEveryMs`. */
  readonly outageEveryMs: number;
  readonly outageMs: number;
  /** One metric point per this many requests served. */
  readonly metricEvery: number;
  readonly progressEveryMs: number;
  readonly resultsDir: string;
}

/** Options from `--minutes N` / `--seconds N` (or SOAK_SECONDS), scaled so that a short run still has outages. */
export function soakOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SoakOptions {
  const arg = (name: string): number | undefined => {
    const i = argv.indexOf(`--${name}`);
    const value = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!(n > 0)) throw new Error(`--${name} must be a positive number, got ${value}`);
    return n;
  };
  const seconds = arg('seconds') ?? (env.SOAK_SECONDS ? Number(env.SOAK_SECONDS) : undefined);
  const durationMs = Math.round(seconds !== undefined ? seconds * 1000 : (arg('minutes') ?? 30) * 60_000);
  const outageEveryMs = Math.min(60_000, Math.max(2000, durationMs / 3));
  return {
    durationMs,
    connections: Number(env.SOAK_CONNECTIONS ?? 8),
    swapEveryMs: Math.min(5000, Math.max(500, durationMs / 10)),
    outageEveryMs,
    outageMs: outageEveryMs / 6,
    metricEvery: 100,
    progressEveryMs: Math.min(30_000, Math.max(1000, durationMs / 6)),
    resultsDir: env.SOAK_RESULTS_DIR ?? fileURLToPath(new URL('./results/', import.meta.url)),
  };
}

export interface SoakSummary {
  readonly minutes: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly errorSamples: readonly string[];
  readonly swaps: number;
  readonly swapFailures: readonly string[];
  readonly trackerOutages: number;
  readonly metrics: {
    readonly logged: number;
    readonly received: number;
    readonly lost: number;
    readonly trackerErrors: number;
  };
  readonly rss: { readonly startMb: number; readonly endMb: number; readonly growthPercent: number };
  readonly eventLoopP99Ms: number;
  readonly ok: boolean;
}

const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function startPeer(): { send(command: PeerCommand): Promise<PeerReply>; url: Promise<string> } {
  const child = fork(fileURLToPath(new URL('./soak-peer.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
    serialization: 'advanced', // model bytes cross as bytes
  });
  const pending = new Map<number, (reply: PeerReply) => void>();
  let nextId = 1;
  const url = new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`soak peer exited with code ${code}`)));
    child.on('message', (reply: PeerReply) => {
      if (reply.id === 0) resolve(reply.url as string);
      pending.get(reply.id)?.(reply);
      pending.delete(reply.id);
    });
  });
  return {
    url,
    send: (command) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
        child.send({ ...command, id });
      }),
  };
}

/** Runs the soak and returns its summary (see the file comment). */
export async function soak(options: SoakOptions, log: (line: string) => void = console.log): Promise<SoakSummary> {
  const root = await mkdtemp(join(tmpdir(), 'modelship-soak-'));
  const peer = startPeer();
  const trackingUri = await peer.url;
  const { v1, v2, rows } = (await peer.send({ cmd: 'models' })).models as NonNullable<PeerReply['models']>;
  const following = await serveFollowingDeployment(root, v1, v2, 200);
  const { deployment, server } = following;
  let trackerErrors = 0;
  const tracker = createMlflowTracker({
    trackingUri,
    spoolDir: join(root, 'spool'),
    retry: { initialDelayMs: 200, maxDelayMs: 5000 },
    logger: silentLogger,
    onError: () => trackerErrors++,
  });
  const run = await tracker.startRun({ experiment: 'soak', name: `soak-${new Date().toISOString()}` });
  let served = 0;
  let logged = 0;
  server.server.on('request', () => {
    if (++served % options.metricEvery !== 0) return;
    logged++;
    run.logMetrics({ served }, { step: logged });
  });

  const half = Math.max(1, Math.floor(options.connections / 2));
  const targets: LoadTarget[] = [
    {
      name: 'predict',
      url: server.url,
      connections: half,
      requests: rows.map((r) => ({ path: '/models/mnist/predict', body: JSON.stringify({ inputs: [r] }) })),
    },
    {
      name: 'v2',
      url: server.url,
      connections: Math.max(1, options.connections - half),
      requests: rows.map((r) => ({
        path: '/v2/models/mnist/infer',
        body: JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'FP32', data: r }] }),
      })),
    },
  ];
  const started = Date.now();
  const end = started + options.durationMs;
  const warmupMs = Math.min(60_000, options.durationMs / 3);
  const windowMs = Math.max(3000, Math.min(15_000, options.durationMs / 10));
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const samples: { t: number; rss: number }[] = [];
  // Bounded waits: nothing below outlives the run's end by more than one swap timeout.
  const until = (t: number): Promise<void> =>
    new Promise((r) => setTimeout(r, Math.max(0, Math.min(t, end) - Date.now())));
  let swaps = 0;
  let outages = 0;
  const swapFailures: string[] = [];

  const swapping = (async () => {
    for (let i = 1; Date.now() + options.swapEveryMs < end; i++) {
      await until(Date.now() + options.swapEveryMs);
      const failure = await moveAlias(following, i % 2 === 1 ? '2' : '1');
      if (failure === undefined) swaps++;
      else swapFailures.push(failure);
    }
  })();
  const outaging = (async () => {
    while (Date.now() + options.outageEveryMs < end) {
      await until(Date.now() + options.outageEveryMs - options.outageMs);
      await peer.send({ cmd: 'tracker-stop' });
      outages++;
      await until(Date.now() + options.outageMs);
      await peer.send({ cmd: 'tracker-start' });
    }
  })();
  const sampling = (async () => {
    let nextProgress = started + options.progressEveryMs;
    while (Date.now() < end) {
      await until(Date.now() + 1000);
      const t = Date.now() - started;
      samples.push({ t, rss: process.memoryUsage().rss });
      if (t >= warmupMs) loop.enable(); // once on: warm-up (first loads, JIT) excluded
      if (Date.now() >= nextProgress && Date.now() < end) {
        nextProgress += options.progressEveryMs;
        const { load } = await peer.send({ cmd: 'stats' });
        const l = load as LoadStats;
        log(
          `[${Math.round(t / 1000)} s] requests ${l.requests}, non2xx ${l.non2xx}, errors ${l.errors}, swaps ${swaps}, outages ${outages}, metrics logged ${logged}, RSS ${mb(process.memoryUsage().rss)} MB`,
        );
      }
    }
  })();

  await peer.send({ cmd: 'load', targets });
  await Promise.all([swapping, outaging, sampling]);
  const { load } = await peer.send({ cmd: 'load-end' });
  loop.disable();
  await peer.send({ cmd: 'tracker-start' });
  await run.end();
  const flushed = await tracker.close({ timeoutMs: 60_000 });
  const { metrics } = await peer.send({ cmd: 'metrics' });
  await server.close();
  await deployment.close();
  await peer.send({ cmd: 'quit' }).catch(() => undefined);
  await rm(root, { recursive: true, force: true });

  const afterWarmup = samples.filter((s) => s.t >= warmupMs && s.t < warmupMs + windowMs).map((s) => s.rss);
  const last = samples.filter((s) => s.t >= options.durationMs - windowMs).map((s) => s.rss);
  const rssStart = median(afterWarmup);
  const rssEnd = median(last);
  const growthPercent = Math.round(((rssEnd - rssStart) / rssStart) * 1000) / 10;
  const l = load as LoadStats;
  const received = metrics?.distinct ?? 0;
  const lost = logged - received + (flushed.delivered ? 0 : flushed.pendingRecords);
  const summary: SoakSummary = {
    minutes: Math.round((options.durationMs / 60_000) * 100) / 100,
    requests: l.requests,
    non2xx: l.non2xx,
    errors: l.errors,
    statusCodes: l.statusCodes,
    errorSamples: l.errorSamples,
    swaps,
    swapFailures,
    trackerOutages: outages,
    metrics: { logged, received, lost, trackerErrors },
    rss: { startMb: mb(rssStart), endMb: mb(rssEnd), growthPercent },
    eventLoopP99Ms: Math.round((loop.percentile(99) / 1e6) * 100) / 100,
    ok:
      l.requests > 0 &&
      l.non2xx === 0 &&
      l.errors === 0 &&
      lost === 0 &&
      swapFailures.length === 0 &&
      swaps > 0 &&
      growthPercent < 10,
  };
  await mkdir(options.resultsDir, { recursive: true });
  const file = join(options.resultsDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ options, ...summary, rssSamples: samples.map((s) => [s.t, mb(s.rss)]) }, null, 2)}\n`,
  );
  log(`results: ${file}`);
  return summary;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = soakOptions(process.argv.slice(2));
  console.log(
    `soak: ${options.durationMs / 1000} s, ${options.connections} connections, swap every ${options.swapEveryMs / 1000} s, tracker down ${options.outageMs / 1000} s of every ${options.outageEveryMs / 1000} s`,
  );
  const s = await soak(options);
  console.log(
    [
      `requests ${s.requests}, non2xx ${s.non2xx}, errors ${s.errors}`,
      `swaps ${s.swaps}${s.swapFailures.length ? ` (failed: ${s.swapFailures.join('; ')})` : ''}, tracker outages ${s.trackerOutages}`,
      `metrics logged ${s.metrics.logged}, received ${s.metrics.received}, lost ${s.metrics.lost}`,
      `RSS ${s.rss.startMb} MB after warm-up → ${s.rss.endMb} MB at the end (${s.rss.growthPercent >= 0 ? '+' : ''}${s.rss.growthPercent} %)`,
      `event-loop delay p99 ${s.eventLoopP99Ms} ms`,
    ].join('\n'),
  );
  if (s.non2xx > 0 || s.errors > 0) console.error('status codes', s.statusCodes, 'errors', s.errorSamples);
  console.log(s.ok ? 'soak: OK' : 'soak: FAILED');
  process.exit(s.ok ? 0 : 1);
}

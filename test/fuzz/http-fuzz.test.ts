/**
 * Fuzzes the HTTP surface (simple predict API, KServe v2 and admin) of a real server with real ONNX models and
 * a deployment with a canary: 10,000+ generated hostile requests over keep-alive connections. Every answer must
 * be structured JSON, no client input may cause a 5xx, nothing may leak a stack or a server path, the process
 * must survive (and still answer /healthz) and its memory must stay flat.
 *
 * Reproduce a failure with the seed it prints: `FUZZ_SEED=<seed> npx vitest run test/fuzz/http-fuzz.test.ts`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployment, createHandler, loadModel, type Deployment, type Logger, type Model } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { deploymentRegistry } from '../helpers/deployments.js';
import { multiInputModel } from '../helpers/models.js';
import { HostileRequests, type FuzzRequest, type FuzzTarget } from './hostile-requests.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
// The warm-up pass (judged like the rest) also brings the heap and malloc's arenas to their working size: after
// 1,500 requests RSS still grew by 10–14 % over the next 10,000 on a busy machine without any leak (heap flat).
const WARMUP = 5_000;
const CONNECTIONS = Number(process.env.FUZZ_CONNECTIONS ?? 8);
const TOKEN = 'fuzz-admin-token-0123456789';
const MAX_BODY = 1024 * 1024;

const TARGET: FuzzTarget = {
  token: TOKEN,
  maxBodyBytes: MAX_BODY,
  models: {
    mnist: [['pixels', 'FP32', 784, undefined]],
    addone: [['x', 'FP32', 4, undefined]],
    multi: [
      ['features', 'FP32', 3, undefined],
      ['ids', 'INT64', 0, undefined],
      ['mask', 'BOOL', 2, undefined],
      ['fixed', 'FP32', 2, 2],
      ['flags', 'UINT8', 0, undefined],
    ],
  },
};

/** Texts that betray internals when an answer contains them and the request did not. */
const LEAKS: readonly [string, RegExp][] = [
  ['a stack frame', /\n\s+at |\bat [\w.$<>]+ \(|\bat (?:async )?file:/],
  ['a source location', /\.(?:ts|js|mjs|cjs):\d+/],
  ['a server path', /\/(?:work|tmp|home|root|usr|var|proc)\//],
  ['node_modules', /node_modules/],
  ['a file URL', /file:\/\//],
];

interface Failure {
  readonly request: FuzzRequest;
  readonly problem: string;
  readonly status?: number;
  readonly answer?: string;
}

interface Campaign {
  sent: number;
  clientErrors: number;
  statuses: Map<number, number>;
  failures: Failure[];
  /** The slowest answers, for the log: a fuzz run that gets slow is a finding too. */
  slowest: { ms: number; request: FuzzRequest; status: number }[];
}

/** `global.gc`, exposed on demand so the test needs no runner flag. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Memory once what the last requests still hold has let go: collected after a pause, five times, keeping the
 * smallest heap. Right after a run, a connection may still be writing or draining a multi-megabyte body (a
 * 413 is answered before the body is read): on a loaded CI host one pass read 12 MiB more than the same seed
 * on an idle machine. What a leak keeps stays in every pass.
 */
async function settledMemory(gc: () => void): Promise<NodeJS.MemoryUsage> {
  let least: NodeJS.MemoryUsage | undefined;
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    gc();
    const now = process.memoryUsage();
    if (least === undefined || now.heapUsed < least.heapUsed) least = now;
  }
  return least as NodeJS.MemoryUsage;
}

function describeRequest(r: FuzzRequest): string {
  const body =
    r.body === undefined
      ? ''
      : typeof r.body === 'string'
        ? r.body
        : `<${r.body.byteLength} bytes: ${Buffer.from(r.body).toString('hex').slice(0, 80)}>`;
  const shown = body.length > 300 ? `${body.slice(0, 300)}… (${body.length} chars)` : body;
  return `#${r.index} ${r.kind} ${r.method} ${r.path.slice(0, 200)} ${JSON.stringify(r.headers).slice(0, 300)} ${JSON.stringify(shown)}`;
}

function requestText(r: FuzzRequest): string {
  const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : Buffer.from(r.body).toString('latin1');
  return `${r.path} ${JSON.stringify(r.headers)} ${body}`;
}

/** What is wrong with this answer, or undefined. */
function judge(r: FuzzRequest, status: number, contentType: string | undefined, text: string): string | undefined {
  if (status >= 500) {
    const deadline = status === 504 && r.deadlineMs !== undefined && text.includes('DEADLINE_EXCEEDED');
    if (!deadline) return `answered ${status} to client input`;
  }
  const sent = requestText(r);
  for (const [what, pattern] of LEAKS) {
    const m = pattern.exec(text);
    if (m && !sent.includes(m[0])) return `the answer contains ${what} (${JSON.stringify(m[0])})`;
  }
  if (status < 400 || r.method === 'HEAD') return undefined;
  if (!contentType?.startsWith('application/json'))
    return `a ${status} answer is ${contentType ?? 'untyped'}, not JSON`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `a ${status} answer is not valid JSON`;
  }
  const error = (body as { error?: unknown } | null)?.error;
  const structured =
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string';
  // OIP answers `{"error": "<message>"}`; modelship's own `{error: {code, message}}` is accepted there too. The
  // server reads a path by its non-empty segments, so `//v2` is an OIP path like `/v2`.
  const oip =
    r.path
      .split('?')[0]!
      .split('/')
      .find((s) => s !== '') === 'v2';
  if (!structured && !(oip && typeof error === 'string')) return `a ${status} answer has no structured error`;
  return undefined;
}

async function run(pool: Pool, seed: number, count: number): Promise<Campaign> {
  const generator = new HostileRequests(seed, TARGET);
  const campaign: Campaign = { sent: 0, clientErrors: 0, statuses: new Map(), failures: [], slowest: [] };
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < count) {
      issued++;
      const r = generator.next();
      let status: number;
      let text: string;
      let contentType: string | undefined;
      const started = performance.now();
      try {
        const res = await pool.request({
          path: r.path,
          method: r.method as 'POST',
          headers: r.headers,
          ...(r.body === undefined ? {} : { body: r.body }),
        });
        status = res.statusCode;
        contentType = res.headers['content-type'] as string | undefined;
        text = await res.body.text();
      } catch (error) {
        // undici refuses some requests itself (an invalid header value): they never reached the server.
        const code = (error as { code?: string }).code ?? '';
        if (code.startsWith('UND_ERR_INVALID') || code === 'ERR_INVALID_ARG_TYPE' || code === 'ERR_INVALID_CHAR') {
          campaign.clientErrors++;
          continue;
        }
        campaign.failures.push({ request: r, problem: `the connection failed: ${code} ${(error as Error).message}` });
        continue;
      }
      campaign.sent++;
      const ms = performance.now() - started;
      if (ms > 100) {
        campaign.slowest.push({ ms, request: r, status });
        campaign.slowest.sort((a, b) => b.ms - a.ms).splice(10);
      }
      campaign.statuses.set(status, (campaign.statuses.get(status) ?? 0) + 1);
      const problem = judge(r, status, contentType, text);
      if (problem) campaign.failures.push({ request: r, problem, status, answer: text.slice(0, 300) });
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return campaign;
}

function report(campaign: Campaign, seed: number): string {
  const byProblem = new Map<string, Failure[]>();
  for (const f of campaign.failures) {
    const key = f.problem.replace(/\(.*\)$/, '').trim();
    byProblem.set(key, [...(byProblem.get(key) ?? []), f]);
  }
  const lines = [
    `FUZZ_SEED=${SEED} (this pass: seed ${seed}): ${campaign.failures.length} of ${campaign.sent} answers failed`,
  ];
  for (const [problem, list] of byProblem) {
    lines.push(`- ${problem}: ${list.length}×`);
    for (const f of list.slice(0, 3))
      lines.push(`    ${describeRequest(f.request)}\n      → ${f.status ?? ''} ${f.answer ?? ''}`);
  }
  return lines.join('\n');
}

describe('HTTP fuzz', () => {
  let server: ModelshipServer;
  let pool: Pool;
  let deployment: Deployment;
  let plain: Model;
  let multi: Model;
  let campaign: Campaign;
  let warmup: Campaign;
  let rss: { before: number; after: number };
  /** The V8 heap in use, and what JavaScript holds in all (the heap plus buffers and typed arrays outside it). */
  let heap: { before: number; after: number };
  let held: { before: number; after: number };
  const errorLogs: string[] = [];
  const warnings: string[] = [];
  const rejections: unknown[] = [];
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
  const onRejection = (reason: unknown): void => void rejections.push(reason);

  beforeAll(async () => {
    console.log(`HTTP fuzz: FUZZ_SEED=${SEED}, ${REQUESTS} requests`);
    process.on('warning', onWarning);
    process.on('unhandledRejection', onRejection);
    const noop = (): void => undefined;
    const logger: Logger = {
      debug: noop,
      info: noop,
      warn: noop,
      error: (message: string) => void errorLogs.push(message.slice(0, 200)),
    };
    const registry = await deploymentRegistry();
    deployment = await createDeployment({
      name: 'mnist',
      registry,
      stable: 'mnist/1',
      canary: { ref: 'mnist/2', weight: 0.5 },
      modelOptions: { workers: 1, logger },
      logger,
    });
    plain = await loadModel('addone/1', { registry, workers: 1, logger });
    multi = await loadModel(multiInputModel(), { name: 'multi', version: '1', workers: 1, logger });
    server = await serve(
      createHandler({ models: [deployment, plain, multi], logger, admin: { token: TOKEN }, maxBodyBytes: MAX_BODY }),
      { port: 0, host: '127.0.0.1' },
    );
    pool = new Pool(server.url, { connections: CONNECTIONS, pipelining: 1 });
    const gc = collector();
    warmup = await run(pool, SEED ^ 0x5bd1e995, WARMUP);
    gc();
    const start = process.memoryUsage();
    const before = start.rss;
    const started = performance.now();
    campaign = await run(pool, SEED, REQUESTS);
    // The heap is compared across a second run of exactly the same requests: what the first run grew once (a
    // route, encoding or error path first seen, modules loaded on first use; +15 MiB for FUZZ_SEED=588802334,
    // already before this check changed) is in both figures, and what a request leaves behind adds up again.
    const first = await settledMemory(gc);
    await run(pool, SEED, REQUESTS);
    const memory = await settledMemory(gc);
    rss = { before, after: memory.rss };
    heap = { before: first.heapUsed, after: memory.heapUsed };
    held = { before: first.heapUsed + first.external, after: memory.heapUsed + memory.external };
    const mib = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;
    console.log(
      `HTTP fuzz: heap ${mib(heap.before)} → ${mib(heap.after)}, held by JavaScript ${mib(held.before)} → ${mib(held.after)}; after the run heap ${mib(memory.heapUsed)}, external ${mib(memory.external)}, array buffers ${mib(memory.arrayBuffers)}`,
    );
    console.log(
      `HTTP fuzz: ${campaign.sent} answers in ${((performance.now() - started) / 1000).toFixed(1)} s, statuses ${JSON.stringify(Object.fromEntries(campaign.statuses))}, RSS ${(rss.before / 2 ** 20).toFixed(0)} → ${(rss.after / 2 ** 20).toFixed(0)} MiB`,
    );
    console.log(
      `HTTP fuzz: slowest\n${campaign.slowest.map((s) => `  ${s.ms.toFixed(0)} ms ${s.status} ${describeRequest(s.request).slice(0, 240)}`).join('\n')}`,
    );
    // About 60 s on an idle 2-core machine; a CI host shared with other work has taken four times as long.
  }, 420_000);

  afterAll(async () => {
    process.off('warning', onWarning);
    process.off('unhandledRejection', onRejection);
    await pool?.close();
    await server?.close();
  });

  it('sends at least 10,000 hostile requests that reach the server', () => {
    expect(campaign.sent + campaign.failures.filter((f) => f.status === undefined).length).toBeGreaterThanOrEqual(
      REQUESTS - campaign.clientErrors,
    );
    expect(campaign.sent).toBeGreaterThanOrEqual(Math.min(REQUESTS, 10_000) * 0.98);
  });

  it('answers every request with structured JSON, no 5xx for client input, no stack or server path', () => {
    const failed = warmup.failures.length + campaign.failures.length;
    expect(failed, `${report(warmup, SEED ^ 0x5bd1e995)}\n${report(campaign, SEED)}`).toBe(0);
  });

  it('survives: /healthz still answers, no unhandled rejection, no runtime warning', async () => {
    const res = await pool.request({ path: '/healthz', method: 'GET' });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ status: 'ok' });
    expect(deployment.state).toBe('ready');
    expect(rejections.map(String)).toEqual([]);
    expect([...new Set(warnings)], `FUZZ_SEED=${SEED}`).toEqual([]);
  });

  it('logs nothing at error level for client-caused failures', () => {
    expect([...new Set(errorLogs)].slice(0, 8), `FUZZ_SEED=${SEED}: ${errorLogs.length} error lines`).toEqual([]);
  });

  // What the server's JavaScript keeps (requests, bodies, listeners, tensors) is the leak signal here: after a
  // collection, a second run of the same requests must leave the heap within 10 % of the first, and all JavaScript holds within 10 % plus 16 MiB (the batch
  // buffers outside the heap are reused, not freed, and vary with the largest batches seen). This process's RSS
  // also holds the fuzz client's multi-megabyte bodies, malloc's arenas and onnxruntime's per-session arenas,
  // which grow to the largest batch seen and never shrink: it moved by -10 % to +21 % between runs with the heap
  // flat, so it only has a backstop here. The 30-minute `npm run soak` asserts RSS growth under 10 % on a server
  // in its own process (docs/reliability.md).
  it('keeps memory flat: the heap back within 10 % after the run, RSS within 50 %', () => {
    expect(heap.after, `FUZZ_SEED=${SEED}: heap ${heap.before} → ${heap.after}`).toBeLessThanOrEqual(heap.before * 1.1);
    expect(held.after, `FUZZ_SEED=${SEED}: held ${held.before} → ${held.after}`).toBeLessThanOrEqual(
      held.before * 1.1 + 16 * 2 ** 20,
    );
    expect(rss.after, `FUZZ_SEED=${SEED}: ${rss.before} → ${rss.after}`).toBeLessThanOrEqual(rss.before * 1.5);
  });
});

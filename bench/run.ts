/**
 * `npm run bench`: modelship against baselines measured in the same run, reported as ratios (absolute numbers
 * on a shared 2-core machine are noise; ratios travel). Writes bench/results.json as
 * `{ machine, results: { <key>: number }, details }`.
 *
 * In-process cases use two MLPs built here with the project's ONNX writer (fixed seeds): a 32→64→2 "tiny" one,
 * where per-call overhead is everything, and a 784→512→10 one fed a real MNIST digit. The raw baseline is one
 * onnxruntime-node session called directly, with onnxruntime's default options and with
 * `intraOpNumThreads: 1`; the faster of the two is the reference. modelship runs with its defaults.
 * Models nobody here trained (a CNN and Silero VAD, from npm packages) go through the same rounds in
 * real-model-cases.ts, including one beside a busy co-tenant process.
 *
 * HTTP cases run each server in a child process and load it with autocannon (64 connections) from this one.
 *
 * Flags: --quick (short runs, for CI smoke; targets are printed but not enforced); --only=<substring> runs
 * just the cases whose key contains it (e.g. --only=tiny, --only=http; several, comma-separated, run in the
 * usual order) and prints their table without writing bench/results.json.
 */
import { writeFile, mkdtemp } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { loadModel } from 'modelship';
import { loopDelayP99Ms, percentile, throughput, latencyInRounds, type Call } from './measure.js';
import { load, probe, startServer } from './http.js';
import { mnistMlp, tinyMlp, type BenchModel } from './models.js';
import { realModelCases } from './real-model-cases.js';
import { monitoringOverhead } from './monitoring-overhead.js';
import { protocolCases } from './protocols.js';
import { multiModelDuringLoad, rawLoadReference } from './multi-model.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const wanted = (key: string): boolean => only === undefined || only.split(',').some((part) => key.includes(part));
const seconds = quick ? 0.5 : 4;
const httpSeconds = quick ? 2 : 8;
const CALLERS = 64;
const CONNECTIONS = 64;

const results: Record<string, number> = {};
const details: Record<string, unknown> = {};

function progress(line: string): void {
  process.stdout.write(`  ${line}\n`);
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function rawSessions(m: BenchModel): Promise<{ label: string; call: Call; release: () => Promise<void> }[]> {
  const variants: [string, ort.InferenceSession.SessionOptions][] = [
    ['default options', {}],
    ['intraOpNumThreads: 1', { intraOpNumThreads: 1 }],
  ];
  return Promise.all(
    variants.map(async ([label, options]) => {
      const s = await ort.InferenceSession.create(m.onnx, options);
      const call: Call = () => s.run({ [m.inputName]: new ort.Tensor('float32', m.row, [1, m.features]) });
      return { label, call, release: () => s.release() };
    }),
  );
}

/**
 * 64 callers: raw (both variants, the faster is the baseline) against modelship; returns the loop delays too.
 * Like the HTTP cases, the contenders take turns in rounds after the same warm-up, so that the machine's
 * drift lands on all of them alike; each one's figure is its calls over its total time.
 */
async function c64(m: BenchModel, key: string): Promise<{ modelshipLoopDelay: number; rawLoopDelay: number }> {
  const raws = await rawSessions(m);
  const model = await loadModel(m.onnx, { name: m.name, version: '1', logger: silent });
  await model.ready();
  const contenders: { label: string; call: Call }[] = [
    ...raws,
    { label: 'modelship', call: () => model.predict(m.row) },
  ];
  const rounds = quick ? 1 : 4;
  const warmup = quick ? 0.25 : 2;
  const runs = new Map<string, { perSecond: number; loopDelayP99Ms: number }[]>(contenders.map((c) => [c.label, []]));
  // One loop-delay histogram per contender, recording only during its own rounds.
  const delays = new Map(contenders.map((c) => [c.label, monitorEventLoopDelay({ resolution: 1 })]));
  for (const c of contenders) await throughput(c.call, CALLERS, warmup, 0);
  for (let round = 0; round < rounds; round++) {
    for (const c of contenders)
      runs.get(c.label)?.push(await throughput(c.call, CALLERS, seconds / rounds, 0, delays.get(c.label)));
    progress(
      `${m.name} round ${round + 1}/${rounds}: ${contenders.map((c) => `${c.label} ${fmt(runs.get(c.label)?.at(-1)?.perSecond ?? 0)}`).join(', ')} calls/s`,
    );
  }
  await Promise.all(raws.map((r) => r.release()));
  const workers = model.stats().concurrency;
  // Where overlapping runs went (the workers or the calling thread), and why.
  const execution = model.stats().execution;
  await model.close();
  const summary = (label: string): { perSecond: number; loopDelayP99Ms: number } => {
    const rs = runs.get(label) ?? [];
    return {
      perSecond: rs.reduce((n, r) => n + r.perSecond, 0) / rs.length,
      loopDelayP99Ms: loopDelayP99Ms(delays.get(label) as IntervalHistogram),
    };
  };
  const raw = Object.fromEntries(raws.map((r) => [r.label, summary(r.label)]));
  for (const r of raws)
    progress(`${m.name} raw (${r.label}), ${CALLERS} callers: ${fmt(raw[r.label]?.perSecond ?? 0)} calls/s`);
  const best = Object.entries(raw).sort((a, b) => b[1].perSecond - a[1].perSecond)[0] as [
    string,
    { perSecond: number; loopDelayP99Ms: number },
  ];
  const ours = summary('modelship');
  progress(
    `${m.name} modelship, ${CALLERS} callers: ${fmt(ours.perSecond)} calls/s (${fmt(ours.perSecond / best[1].perSecond, 2)}× raw ${best[0]})`,
  );
  results[key] = ours.perSecond / best[1].perSecond;
  details[key] = {
    raw: Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.perSecond])),
    baseline: best[0],
    modelship: ours.perSecond,
    perRound: Object.fromEntries([...runs].map(([k, v]) => [k, v.map((r) => Math.round(r.perSecond))])),
    unit: 'calls/s',
    model: m.name,
    workers,
    execution,
  };
  return { modelshipLoopDelay: ours.loopDelayP99Ms, rawLoopDelay: best[1].loopDelayP99Ms };
}

async function c1(m: BenchModel, key: string): Promise<void> {
  const raws = await rawSessions(m);
  const model = await loadModel(m.onnx, { name: m.name, version: '1', logger: silent });
  await model.ready();
  // Raw and modelship take turns, in rounds, like the other cases: a block each would fold the drift in.
  const measured = await latencyInRounds(
    [...raws, { label: 'modelship', call: () => model.predict(m.row) }],
    2 * seconds,
    quick ? 1 : 4,
  );
  // Whether lone calls ran on the calling thread, on which session, and the figures behind that choice.
  const execution = model.stats().execution;
  await Promise.all([model.close(), ...raws.map((r) => r.release())]);
  const raw: Record<string, { p50: number; p99: number }> = {};
  for (const r of raws) {
    raw[r.label] = measured.get(r.label) as { p50: number; p99: number };
    progress(`${m.name} raw (${r.label}), 1 caller: p50 ${fmt(raw[r.label]?.p50 ?? 0, 1)} µs`);
  }
  const best = Object.entries(raw).sort((a, b) => a[1].p50 - b[1].p50)[0] as [string, { p50: number; p99: number }];
  const ours = measured.get('modelship') as { p50: number; p99: number };
  progress(
    `${m.name} modelship, 1 caller: p50 ${fmt(ours.p50, 1)} µs (${fmt(ours.p50 / best[1].p50, 2)}× raw ${best[0]})`,
  );
  results[key] = ours.p50 / best[1].p50;
  details[key] = { raw, baseline: best[0], modelship: { p50: ours.p50, p99: ours.p99 }, unit: 'µs', execution };
}

/**
 * The three servers run side by side (idle ones cost nothing) and take turns under load, in rounds: this
 * machine's speed drifts over minutes, and measuring each server in one block would fold that drift into the
 * ratios. Each server gets the same total time; its figure is its requests over that time.
 */
async function httpCases(m: BenchModel): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-bench-'));
  const modelPath = join(dir, `${m.name}.onnx`);
  await writeFile(modelPath, m.onnx);
  const body = JSON.stringify({ inputs: [Array.from(m.row)] });
  const names = ['naive-express', 'bare-node', 'bare-node-onnxruntime', 'modelship-server'] as const;
  const rounds = quick ? 1 : 4;
  const servers = await Promise.all(names.map((name) => startServer(name, { MODEL_PATH: modelPath })));
  const runs: Record<string, Awaited<ReturnType<typeof load>>[]> = Object.fromEntries(names.map((n) => [n, []]));
  let health: Awaited<ReturnType<ReturnType<typeof probe>['stop']>> | undefined;
  let reported: unknown[] = [];
  const healthSamples: number[] = [];
  try {
    // Warm-up, the same for every server: JIT, connections, sessions. Steady state is what is compared.
    for (const server of servers) await load(`${server.url}/predict`, body, CONNECTIONS, quick ? 0.5 : 3);
    for (let round = 0; round < rounds; round++) {
      for (const [i, name] of names.entries()) {
        const url = (servers[i] as { url: string }).url;
        const probing = name === 'modelship-server' ? probe(`${url}/healthz`, 20, healthSamples) : undefined;
        const r = await load(`${url}/predict`, body, CONNECTIONS, httpSeconds / rounds);
        health = (await probing?.stop()) ?? health;
        if (r.non2xx > 0 || r.errors > 0)
          throw new Error(`${name}: ${r.non2xx} non-2xx answers and ${r.errors} errors under load`);
        (runs[name] as (typeof r)[]).push(r);
      }
      progress(
        `HTTP round ${round + 1}/${rounds}: ${names.map((n) => `${n} ${fmt(runs[n]?.at(-1)?.requestsPerSecond ?? 0)} req/s`).join(', ')}`,
      );
    }
  } finally {
    reported = await Promise.all(servers.map((s) => s.stop()));
  }
  const measured = Object.fromEntries(
    names.map((name) => {
      const rs = runs[name] as Awaited<ReturnType<typeof load>>[];
      const sorted = (f: (r: (typeof rs)[number]) => number): number[] => rs.map(f).sort((a, b) => a - b);
      return [
        name,
        {
          requestsPerSecond: rs.reduce((n, r) => n + r.requestsPerSecond, 0) / rs.length,
          p50Ms: percentile(
            sorted((r) => r.p50Ms),
            50,
          ),
          p99Ms: Math.max(...rs.map((r) => r.p99Ms)),
          perRound: rs.map((r) => Math.round(r.requestsPerSecond)),
        },
      ];
    }),
  ) as Record<(typeof names)[number], { requestsPerSecond: number; p50Ms: number; p99Ms: number; perRound: number[] }>;
  for (const name of names) {
    const r = measured[name];
    progress(`HTTP ${name}: ${fmt(r.requestsPerSecond)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
  }
  const ours = measured['modelship-server'];
  results.http_vs_naive_express_ratio = ours.requestsPerSecond / measured['naive-express'].requestsPerSecond;
  results.http_vs_bare_node_ratio = ours.requestsPerSecond / measured['bare-node'].requestsPerSecond;
  // No target: how far any server that runs the model gets against bare-node, and modelship against that.
  results.http_bare_node_onnxruntime_vs_bare_node_ratio =
    measured['bare-node-onnxruntime'].requestsPerSecond / measured['bare-node'].requestsPerSecond;
  results.http_vs_bare_node_onnxruntime_ratio =
    ours.requestsPerSecond / measured['bare-node-onnxruntime'].requestsPerSecond;
  details.http = {
    model: m.name,
    connections: CONNECTIONS,
    seconds: httpSeconds,
    rounds,
    ...measured,
    healthzWhileSaturatedMs: health,
    modelshipServer: reported[names.indexOf('modelship-server')],
  };
  const execution = (
    reported[names.indexOf('modelship-server')] as
      { execution?: { reason?: string; inlineCalls?: number; batches?: { reason?: string } } } | undefined
  )?.execution;
  if (execution) {
    progress(`modelship-server, lone calls: ${execution.reason} (${execution.inlineCalls ?? 0} answered inline)`);
    progress(`modelship-server, overlapping runs: ${execution.batches?.reason}`);
  }
  if (health)
    progress(
      `/healthz while saturated: p50 ${fmt(health.p50, 2)} ms, p99 ${fmt(health.p99, 2)} ms, max ${fmt(health.max, 2)} ms (${health.count} probes)`,
    );
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

const TARGETS: Record<string, { op: '>=' | '<='; value: number; what: string }> = {
  tiny_mlp_c64_throughput_ratio: { op: '>=', value: 6, what: `tiny MLP, ${CALLERS} callers, throughput vs raw` },
  mnist_mlp_c64_throughput_ratio: { op: '>=', value: 3, what: `MNIST MLP, ${CALLERS} callers, throughput vs raw` },
  mnist_mlp_c1_p50_latency_ratio: { op: '<=', value: 1.3, what: 'MNIST MLP, 1 caller, p50 latency vs raw' },
  event_loop_delay_p99_ms: { op: '<=', value: 5, what: 'event-loop delay p99 (ms) while saturated' },
  http_vs_naive_express_ratio: { op: '>=', value: 2, what: `HTTP, ${CONNECTIONS} connections, vs naive Express` },
  http_vs_bare_node_ratio: { op: '>=', value: 0.9, what: `HTTP, ${CONNECTIONS} connections, vs bare node:http` },
  cnn_c8_throughput_ratio: { op: '>=', value: 1.8, what: 'OCR classifier CNN, 8 callers, defaults, vs raw' },
  cnn_c8_batched_throughput_ratio: {
    op: '>=',
    value: 1.8,
    what: 'CNN, 8 callers, maxBatchSize 8 + 1 ms delay, vs raw',
  },
  cnn_c1_p50_latency_ratio: { op: '<=', value: 1.3, what: 'CNN, 1 caller, p50 latency vs raw' },
  cnn_event_loop_delay_p99_ms: { op: '<=', value: 2, what: 'CNN, event-loop delay p99 (ms) while saturated' },
  cnn_c8_cotenant_ratio: { op: '>=', value: 1, what: 'CNN, 8 callers beside a busy process, vs raw beside it' },
  vad_c8_throughput_ratio: { op: '>=', value: 1, what: 'Silero VAD (4 inputs, recurrent), 8 callers, vs raw' },
  monitoring_overhead_ratio: { op: '>=', value: 0.95, what: `MNIST MLP, ${CALLERS} callers, monitoring on vs off` },
  oip_binary_vs_json_ratio: { op: '>=', value: 2, what: `OIP binary vs OIP JSON, ${CONNECTIONS} connections` },
  grpc_vs_json_ratio: { op: '>=', value: 2, what: `OIP gRPC (raw) vs OIP JSON over HTTP, ${CONNECTIONS} connections` },
  v1_vs_predict_ratio: { op: '>=', value: 0.9, what: `TF Serving v1 :predict vs /predict, ${CONNECTIONS} connections` },
  multi_model_p99_during_load_ratio: { op: '<=', value: 1.5, what: 'MNIST MLP p99, others loading/evicted, vs alone' },
};

const REFERENCES: Record<string, string> = {
  http_bare_node_onnxruntime_vs_bare_node_ratio:
    'bare node:http running the model with raw onnxruntime, vs bare node:http',
  http_vs_bare_node_onnxruntime_ratio: 'HTTP, modelship vs bare node:http running the model with raw onnxruntime',
  cnn_c8_ceiling_ratio: 'CNN, free-running raw sessions on as many threads as modelship uses, vs raw',
  cnn_c8_vs_ceiling_ratio: 'CNN, 8 callers, modelship defaults vs that ceiling',
  multi_model_raw_load_reference_ratio:
    'raw session p99 while another thread loads raw sessions back to back, vs alone',
};

async function main(): Promise<void> {
  console.log(
    `modelship bench${quick ? ' (--quick: short runs, targets not meaningful)' : ''}: ${seconds} s per in-process case, ${httpSeconds} s per HTTP case`,
  );
  const tiny = tinyMlp();
  const mnist = mnistMlp();
  progress(`models: ${tiny.name} (${tiny.onnx.byteLength} bytes), ${mnist.name} (${mnist.onnx.byteLength} bytes)`);

  if (wanted('tiny_mlp_c64_throughput_ratio')) await c64(tiny, 'tiny_mlp_c64_throughput_ratio');
  if (wanted('mnist_mlp_c64_throughput_ratio') || wanted('event_loop_delay_p99_ms')) {
    const delays = await c64(mnist, 'mnist_mlp_c64_throughput_ratio');
    results.event_loop_delay_p99_ms = delays.modelshipLoopDelay;
    details.event_loop_delay_p99_ms = {
      modelship: delays.modelshipLoopDelay,
      raw: delays.rawLoopDelay,
      resolutionMs: 1,
      model: mnist.name,
    };
    progress(
      `event-loop delay p99 while saturated: modelship ${fmt(delays.modelshipLoopDelay, 2)} ms, raw ${fmt(delays.rawLoopDelay, 2)} ms`,
    );
  }
  if (wanted('mnist_mlp_c1_p50_latency_ratio')) await c1(mnist, 'mnist_mlp_c1_p50_latency_ratio');
  if (wanted('http_vs_naive_express_ratio') || wanted('http_vs_bare_node_ratio')) await httpCases(mnist);
  await realModelCases({ results, details, wanted, quick, seconds, progress });
  if (wanted('monitoring_overhead_ratio')) {
    const r = await monitoringOverhead(mnist, {
      callers: CALLERS,
      seconds,
      rounds: quick ? 1 : 4,
      warmup: quick ? 0.25 : 2,
      progress,
    });
    results.monitoring_overhead_ratio = r.ratio;
    details.monitoring_overhead_ratio = r;
  }

  if (wanted('multi_model_p99_during_load_ratio')) {
    const r = await multiModelDuringLoad(mnist, await mkdtemp(join(tmpdir(), 'modelship-bench-')), {
      seconds: quick ? 0.5 : 3,
      rounds: quick ? 1 : 4,
      progress,
    });
    results.multi_model_p99_during_load_ratio = r.ratio;
    const raw = await rawLoadReference(mnist, await mkdtemp(join(tmpdir(), 'modelship-bench-')), {
      seconds: quick ? 0.5 : 3,
      rounds: quick ? 1 : 4,
    });
    results.multi_model_raw_load_reference_ratio = raw.ratio;
    details.multi_model_p99_during_load_ratio = { ...r, rawReference: raw };
    progress(
      `multi-model: A's p99 ${fmt(r.duringLoadP99Us)} µs during loads, ${fmt(r.aloneP99Us)} µs alone; raw reference ${fmt(raw.duringLoadP99Us)} / ${fmt(raw.aloneP99Us)} µs at ${fmt(raw.loadsPerSecond)} loads/s`,
    );
  }

  const protocolKeys = ['oip_binary_vs_json_ratio', 'grpc_vs_json_ratio', 'v1_vs_predict_ratio'];
  if (protocolKeys.some(wanted)) {
    const p = await protocolCases(mnist, {
      connections: CONNECTIONS,
      seconds: httpSeconds,
      rounds: quick ? 1 : 4,
      warmup: quick ? 0.5 : 2,
      progress,
    });
    Object.assign(results, p.results);
    details.protocols = p.details;
  }

  console.log('\n| case | key | value | target | |');
  console.log('|---|---|---|---|---|');
  for (const [key, t] of Object.entries(TARGETS)) {
    const v = results[key];
    if (v === undefined && only !== undefined) continue;
    const ok = v !== undefined && (t.op === '>=' ? v >= t.value : v <= t.value);
    console.log(
      `| ${t.what} | \`${key}\` | ${v === undefined ? '—' : fmt(v, 2)} | ${t.op} ${t.value} | ${ok ? 'met' : 'MISSED'} |`,
    );
  }
  // Figures with no target: ceilings measured beside the baselines, to read the ratios against.
  const references = Object.entries(REFERENCES).filter(([key]) => results[key] !== undefined);
  if (references.length > 0) {
    console.log('\n| reference (no target) | key | value |');
    console.log('|---|---|---|');
    for (const [key, what] of references) console.log(`| ${what} | \`${key}\` | ${fmt(results[key] as number, 2)} |`);
  }
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ort.env.versions.node ?? 'unknown',
    quick,
    date: new Date().toISOString(),
  };
  if (only !== undefined) return; // a partial run never replaces the full results
  // BENCH_OUT redirects the file (the smoke test uses it so a test run never overwrites real results).
  const out = process.env.BENCH_OUT ?? fileURLToPath(new URL('./results.json', import.meta.url));
  await writeFile(out, `${JSON.stringify({ machine, results, details }, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

/**
 * Bench cases on models nobody here trained (bench/real-models.ts), raw onnxruntime-node against modelship
 * measured in turns in the same run (bench/rounds.ts):
 * - `cnn_c8_*`: 8 in-process callers on the OCR classifier CNN; modelship with its defaults, and with
 *   Triton-style settings (`maxBatchSize: 8, maxQueueDelayMs: 1`);
 * - `cnn_c1_p50_latency_ratio`: one caller, p50 latency;
 * - `cnn_c8_cotenant_ratio`: 8 callers while another process keeps one core busy (both sides under it);
 * - `vad_c8_throughput_ratio`: 8 callers on Silero VAD (four inputs, recurrent state, not batchable).
 * The raw baseline is the faster of onnxruntime's default options and `intraOpNumThreads: 1`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import ort from 'onnxruntime-node';
import { loadModel, type LoadModelOptions, type Model } from 'modelship';
import { latencyInRounds } from './measure.js';
import { rawThreads } from './raw-threads.js';
import { fastest, inRounds, type Contender } from './rounds.js';
import { ocrClassifier, sileroVad, type RealModel } from './real-models.js';

export interface CaseContext {
  readonly results: Record<string, number>;
  readonly details: Record<string, unknown>;
  readonly wanted: (key: string) => boolean;
  readonly quick: boolean;
  readonly seconds: number;
  readonly progress: (line: string) => void;
}

const CALLERS = 8;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const RAW_VARIANTS: [string, ort.InferenceSession.SessionOptions][] = [
  ['raw default options', {}],
  ['raw intraOpNumThreads: 1', { intraOpNumThreads: 1 }],
];

async function rawContenders(m: RealModel): Promise<{ contenders: Contender[]; release: () => Promise<void> }> {
  const sessions = await Promise.all(RAW_VARIANTS.map(([, o]) => ort.InferenceSession.create(m.path, o)));
  const feeds = m.ortFeeds(ort);
  return {
    contenders: sessions.map((s, i) => ({
      label: (RAW_VARIANTS[i] as [string, unknown])[0],
      call: () => s.run(feeds),
    })),
    release: async () => {
      await Promise.all(sessions.map((s) => s.release()));
    },
  };
}

async function load(m: RealModel, options: LoadModelOptions = {}): Promise<Model> {
  const model = await loadModel(m.path, {
    name: m.name,
    version: '1',
    warmup: { inputs: m.input },
    logger: silent,
    ...options,
  });
  await model.ready();
  return model;
}

/** A process that keeps one core busy (nice 0, like an ordinary co-tenant) until stopped. */
function busyProcess(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

const rounds = (ctx: CaseContext) => ({
  callers: CALLERS,
  seconds: ctx.seconds,
  rounds: ctx.quick ? 1 : 4,
  warmupSeconds: ctx.quick ? 0.25 : 2,
  progress: ctx.progress,
});

async function cnnThroughput(ctx: CaseContext, m: RealModel): Promise<void> {
  const raw = await rawContenders(m);
  const defaults = await load(m);
  const batched = await load(m, { batching: { maxBatchSize: 8, maxQueueDelayMs: 1 } });
  const threads = defaults.stats().concurrency;
  const ceiling = await rawThreads(m.path, m.input, threads);
  const CEILING = `raw, ${threads} threads free-running (ceiling)`;
  const ours: Contender[] = [
    { label: 'modelship defaults', call: () => defaults.predict(m.input) },
    { label: 'modelship maxBatchSize 8, maxQueueDelayMs 1', call: () => batched.predict(m.input) },
    { label: CEILING, call: () => Promise.resolve(), measure: (s) => ceiling.measure(s) },
  ];
  const r = await inRounds([...raw.contenders, ...ours], rounds(ctx));
  await ceiling.close();
  const [baseline, best] = fastest(
    r,
    RAW_VARIANTS.map(([l]) => l),
  );
  const d = r.get('modelship defaults') as { perSecond: number; loopDelayP99Ms: number };
  const b = r.get('modelship maxBatchSize 8, maxQueueDelayMs 1') as { perSecond: number };
  ctx.results.cnn_c8_throughput_ratio = d.perSecond / best.perSecond;
  ctx.results.cnn_c8_batched_throughput_ratio = b.perSecond / best.perSecond;
  ctx.results.cnn_event_loop_delay_p99_ms = d.loopDelayP99Ms;
  // No target: what the threads could give at most, and how much of it modelship's defaults get.
  const top = (r.get(CEILING) as { perSecond: number }).perSecond;
  ctx.results.cnn_c8_ceiling_ratio = top / best.perSecond;
  ctx.results.cnn_c8_vs_ceiling_ratio = d.perSecond / top;
  ctx.details.cnn_c8 = {
    model: m.origin,
    callers: CALLERS,
    baseline,
    perSecond: Object.fromEntries([...r].map(([k, v]) => [k, Math.round(v.perSecond)])),
    perRound: Object.fromEntries([...r].map(([k, v]) => [k, v.perRound])),
    loopDelayP99Ms: Object.fromEntries([...r].map(([k, v]) => [k, v.loopDelayP99Ms])),
    workers: defaults.stats().concurrency,
    batching: { defaults: summary(defaults), batched: summary(batched) },
  };
  ctx.progress(
    `${m.name}, ${CALLERS} callers: defaults ${ctx.results.cnn_c8_throughput_ratio.toFixed(2)}×, batched ${ctx.results.cnn_c8_batched_throughput_ratio.toFixed(2)}× ${baseline}; loop p99 ${d.loopDelayP99Ms.toFixed(2)} ms; ceiling (${threads} free-running raw threads) ${ctx.results.cnn_c8_ceiling_ratio.toFixed(2)}×, defaults reach ${(100 * ctx.results.cnn_c8_vs_ceiling_ratio).toFixed(0)} % of it`,
  );
  ctx.progress(`adaptive choice: ${defaults.stats().batching.reason}`);
  await Promise.all([defaults.close(), batched.close(), raw.release()]);
}

/** What adaptive batching chose, for the details. */
function summary(model: Model): unknown {
  const s = model.stats().batching;
  return {
    maxBatchSize: s.maxBatchSize,
    maxQueueDelayMs: s.maxQueueDelayMs,
    mode: s.mode,
    curve: s.curve.map((p) => ({ rows: p.rows, ms: Number(p.ms.toFixed(3)), gain: Number(p.gain.toFixed(2)) })),
  };
}

async function cnnLatency(ctx: CaseContext, m: RealModel): Promise<void> {
  const raw = await rawContenders(m);
  const model = await load(m);
  // Raw and modelship take turns, in rounds, like the throughput cases.
  const measured = await latencyInRounds(
    [...raw.contenders, { label: 'modelship defaults', call: () => model.predict(m.input) }],
    2 * ctx.seconds,
    ctx.quick ? 1 : 4,
  );
  const execution = model.stats().execution;
  await Promise.all([model.close(), raw.release()]);
  const p50s: Record<string, number> = {};
  for (const c of raw.contenders) p50s[c.label] = (measured.get(c.label) as { p50: number }).p50;
  const ours = measured.get('modelship defaults') as { p50: number; p99: number };
  const [baseline, best] = Object.entries(p50s).sort((a, b) => a[1] - b[1])[0] as [string, number];
  ctx.results.cnn_c1_p50_latency_ratio = ours.p50 / best;
  ctx.details.cnn_c1 = {
    model: m.origin,
    rawP50Us: p50s,
    baseline,
    modelshipP50Us: ours.p50,
    modelshipP99Us: ours.p99,
    execution,
  };
  ctx.progress(`${m.name}, 1 caller: p50 ${ours.p50.toFixed(0)} µs vs ${best.toFixed(0)} µs ${baseline}`);
}

async function cnnCotenant(ctx: CaseContext, m: RealModel): Promise<void> {
  const raw = await rawContenders(m);
  const model = await load(m);
  // For comparison in the details: workers at the event loop's priority (workerNice 0).
  const even = await load(m, { workerNice: 0 });
  const busy = busyProcess();
  try {
    const r = await inRounds(
      [
        ...raw.contenders,
        { label: 'modelship defaults', call: () => model.predict(m.input) },
        { label: 'modelship workerNice 0', call: () => even.predict(m.input) },
      ],
      rounds(ctx),
    );
    const [baseline, best] = fastest(
      r,
      RAW_VARIANTS.map(([l]) => l),
    );
    const ours = r.get('modelship defaults') as { perSecond: number };
    ctx.results.cnn_c8_cotenant_ratio = ours.perSecond / best.perSecond;
    ctx.details.cnn_c8_cotenant = {
      model: m.origin,
      cotenant: 'one process spinning on one core (nice 0)',
      baseline,
      perSecond: Object.fromEntries([...r].map(([k, v]) => [k, Math.round(v.perSecond)])),
      perRound: Object.fromEntries([...r].map(([k, v]) => [k, v.perRound])),
    };
    ctx.progress(
      `${m.name}, ${CALLERS} callers beside a busy process: ${ctx.results.cnn_c8_cotenant_ratio.toFixed(2)}× ${baseline}`,
    );
  } finally {
    busy.kill();
    await Promise.all([model.close(), even.close(), raw.release()]);
  }
}

async function vadThroughput(ctx: CaseContext, m: RealModel): Promise<void> {
  const raw = await rawContenders(m);
  const model = await load(m);
  const r = await inRounds(
    [...raw.contenders, { label: 'modelship defaults', call: () => model.predict(m.input) }],
    rounds(ctx),
  );
  const [baseline, best] = fastest(
    r,
    RAW_VARIANTS.map(([l]) => l),
  );
  ctx.results.vad_c8_throughput_ratio =
    (r.get('modelship defaults') as { perSecond: number }).perSecond / best.perSecond;
  ctx.details.vad_c8 = {
    model: m.origin,
    baseline,
    perSecond: Object.fromEntries([...r].map(([k, v]) => [k, Math.round(v.perSecond)])),
  };
  ctx.progress(`${m.name}, ${CALLERS} callers: ${ctx.results.vad_c8_throughput_ratio.toFixed(2)}× ${baseline}`);
  await Promise.all([model.close(), raw.release()]);
}

/** Runs the real-model cases whose keys are wanted. */
export async function realModelCases(ctx: CaseContext): Promise<void> {
  const cnn = ocrClassifier();
  if (['cnn_c8_throughput_ratio', 'cnn_c8_batched_throughput_ratio', 'cnn_event_loop_delay_p99_ms'].some(ctx.wanted))
    await cnnThroughput(ctx, cnn);
  if (ctx.wanted('cnn_c1_p50_latency_ratio')) await cnnLatency(ctx, cnn);
  if (ctx.wanted('cnn_c8_cotenant_ratio')) await cnnCotenant(ctx, cnn);
  if (ctx.wanted('vad_c8_throughput_ratio')) await vadThroughput(ctx, sileroVad());
}

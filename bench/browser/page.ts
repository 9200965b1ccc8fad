/**
 * Runs in the bench page: modelship-web `predict` against a raw onnxruntime-web `session.run` on the same
 * model, inputs and onnxruntime-web module (so the same WebAssembly, threads and settings), interleaved so
 * drift on a shared machine hits both alike.
 */
import * as ort from 'onnxruntime-web/wasm';
import { createOnnxWebBackend, loadModel, silentLogger } from 'modelship/browser';

interface Stats {
  min: number;
  p50: number;
  p90: number;
  samples: number;
}

const stats = (values: number[]): Stats => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  return { min: sorted[0] as number, p50: at(0.5), p90: at(0.9), samples: sorted.length };
};

async function time(fn: () => Promise<unknown>, calls: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await fn();
  return (performance.now() - t0) / calls;
}

/** Per-call times (ms) of `a` and `b`, alternating blocks of `block` calls, `rounds` times each. */
async function compare(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  block: number,
  rounds: number,
  warmup: number,
) {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      ta.push(await time(a, block));
      tb.push(await time(b, block));
    } else {
      tb.push(await time(b, block));
      ta.push(await time(a, block));
    }
  }
  // Paired: each round's two blocks ran back to back, under the same load, so their difference and ratio
  // are far steadier on a shared machine than the difference of two medians.
  return {
    a: stats(ta),
    b: stats(tb),
    diff: stats(tb.map((t, i) => t - (ta[i] as number))),
    ratio: stats(tb.map((t, i) => t / (ta[i] as number))),
  };
}

async function modelCase(url: string, input: string, dims: number[], block: number, rounds: number, warmup: number) {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  let t0 = performance.now();
  const raw = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], logSeverityLevel: 4 });
  const rawCreateMs = performance.now() - t0;
  t0 = performance.now();
  const model = await loadModel(url, {
    backend: createOnnxWebBackend({ logger: silentLogger }),
    logger: silentLogger,
    cache: false,
    warmup: false,
  });
  await model.ready();
  const loadModelMs = performance.now() - t0;
  const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => ((i * 37) % 101) / 101);
  const rawCall = () => raw.run({ [input]: new ort.Tensor('float32', data, dims) });
  const msCall = () => model.predict({ [input]: data });
  const r = await compare(rawCall, msCall, block, rounds, warmup);
  // A/A control: a second raw session on the same model, to show how far two identical sides drift apart here.
  const raw2 = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], logSeverityLevel: 4 });
  const control = await compare(
    rawCall,
    () => raw2.run({ [input]: new ort.Tensor('float32', data, dims) }),
    block,
    Math.ceil(rounds / 2),
    warmup,
  );
  await model.close();
  await raw.release();
  await raw2.release();
  return {
    raw: r.a,
    modelship: r.b,
    diffMs: r.diff,
    ratio: r.ratio,
    rawCreateMs,
    loadModelMs,
    control: { raw: control.a, raw2: control.b, diffMs: control.diff, ratio: control.ratio },
  };
}

/** Whether raw onnxruntime-web accepts overlapping run() calls on one session (modelship queues them anyway). */
async function overlapping(url: string): Promise<string> {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const raw = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], logSeverityLevel: 4 });
  const feeds = () => ({ image: new ort.Tensor('float32', new Float32Array(784), [1, 1, 28, 28]) });
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => raw.run(feeds())));
  await raw.release();
  const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  return failed.length === 0
    ? 'all 8 overlapping runs succeeded'
    : `${failed.length} of 8 overlapping runs failed: ${String(failed[0]?.reason?.message ?? failed[0]?.reason)}`;
}

/** The whole run; `bench/browser.ts` calls it through `window.bench`. */
export async function runBench(quick: boolean) {
  return {
    isolated: crossOriginIsolated,
    threads: ort.env.wasm.numThreads ?? `onnxruntime-web's default for ${navigator.hardwareConcurrency} cores`,
    ort: ort.env.versions.web,
    userAgent: navigator.userAgent,
    cnn: await modelCase('/cnn.onnx', 'image', [1, 1, 28, 28], 1, quick ? 60 : 400, 20),
    mnist: await modelCase('/mnist.onnx', 'pixels', [1, 784], 100, quick ? 10 : 60, 200),
    overlapping: await overlapping('/cnn.onnx'),
  };
}

/** What one bench run reports. */
export type BenchResult = Awaited<ReturnType<typeof runBench>>;

Object.assign(window, { bench: runBench });
document.body.dataset.ready = 'true';

/**
 * `monitoring_overhead_ratio`: the MNIST MLP with 64 callers, monitoring on (a baseline of 2000 training digits,
 * drift sampled at the default 10 %, every request with a request id kept for feedback) against the same model
 * with monitoring off, in the same run. Both take turns in rounds after the same warm-up; the ratio is
 * monitored calls/s over plain calls/s (target ≥ 0.95).
 */
import { createBaseline, loadModel, silentLogger, type Model } from 'modelship';
import { loadMnist, IMAGE_SIZE } from '../examples/shared/mnist-data.js';
import { throughput, type Call } from './measure.js';
import type { BenchModel } from './models.js';

/** What the case reports: the ratio and the two throughputs behind it. */
export interface MonitoringOverhead {
  readonly ratio: number;
  readonly plainPerSecond: number;
  readonly monitoredPerSecond: number;
  readonly sampledRows: number;
}

/** Runs the case; `progress` receives one line per round. */
export async function monitoringOverhead(
  m: BenchModel,
  options: { callers: number; seconds: number; rounds: number; warmup: number; progress(line: string): void },
): Promise<MonitoringOverhead> {
  const plain = await loadModel(m.onnx, { name: m.name, version: '1', logger: silentLogger });
  await plain.ready();
  const rows = 2000;
  const { train } = loadMnist({ seed: 1 });
  const inputs = {
    [m.inputName]: {
      dtype: 'float32' as const,
      shape: [rows, IMAGE_SIZE],
      data: train.images.slice(0, rows * IMAGE_SIZE),
    },
  };
  const baseline = createBaseline({ inputs, outputs: await plain.predict(inputs) }, { signature: plain.signature });
  const monitored = await loadModel(m.onnx, {
    name: m.name,
    version: '2',
    logger: silentLogger,
    monitoring: { baseline, interval: '1s' },
  });
  await monitored.ready();
  let id = 0;
  const contenders: { label: string; model: Model; call: Call }[] = [
    { label: 'off', model: plain, call: () => plain.predict(m.row) },
    // A request id per call (what the HTTP layer passes from x-request-id): every answer is kept for feedback.
    { label: 'on', model: monitored, call: () => monitored.predict(m.row, { requestId: `r${id++}` }) },
  ];
  const runs = new Map<string, number[]>(contenders.map((c) => [c.label, []]));
  for (const c of contenders) await throughput(c.call, options.callers, options.warmup, 0);
  for (let round = 0; round < options.rounds; round++) {
    for (const c of contenders)
      runs
        .get(c.label)
        ?.push((await throughput(c.call, options.callers, options.seconds / options.rounds, 0)).perSecond);
    options.progress(
      `monitoring round ${round + 1}/${options.rounds}: ${contenders.map((c) => `${c.label} ${Math.round(runs.get(c.label)?.at(-1) ?? 0)}`).join(', ')} calls/s`,
    );
  }
  const mean = (label: string): number => {
    const rs = runs.get(label) ?? [];
    return rs.reduce((a, b) => a + b, 0) / rs.length;
  };
  monitored.monitoring?.evaluate();
  const sampledRows = monitored.monitoring?.report().drift?.rows ?? 0;
  await Promise.all([plain.close(), monitored.close()]);
  return { ratio: mean('on') / mean('off'), plainPerSecond: mean('off'), monitoredPerSecond: mean('on'), sampledRows };
}

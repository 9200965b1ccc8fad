import type { TensorLike } from '../../spec/tensor.js';
import type { BatchTuner } from './batch-tuner.js';
import type { BatchGainPoint } from './batcher-types.js';

/**
 * Batch-gain curves measured in this process, by model file and setup. A model repository that evicts and
 * reloads models under a memory budget would otherwise measure the same file again on every load: about
 * 300 ms of full-speed runs on every worker, taken from the models already serving. A reload with the same
 * file, worker count, session options and warm-up input shapes reuses the curve; live traffic still
 * re-measures it when its batches stop matching (batch-tuner.ts). Bounded: the oldest entries go first.
 */
const MAX_ENTRIES = 256;
const curves = new Map<string, readonly BatchGainPoint[]>();

function rememberCurve(key: string, curve: readonly BatchGainPoint[]): void {
  if (curve.length === 0) return;
  curves.delete(key);
  curves.set(key, curve);
  if (curves.size > MAX_ENTRIES) curves.delete(curves.keys().next().value as string);
}

/**
 * `tuner.calibrateOn(run, sample)`, or the curve measured earlier for the same `key` (model file and setup,
 * or undefined: always measure) and the same input shapes.
 */
export async function calibrateOrReuse(
  tuner: BatchTuner,
  run: (feeds: Record<string, TensorLike>) => Promise<unknown>,
  sample: Record<string, TensorLike> | false | undefined,
  key: string | undefined,
): Promise<void> {
  const full =
    key === undefined || !sample
      ? undefined
      : `${key}|${Object.entries(sample)
          .map(([name, t]) => `${name}:${t.dtype}[${t.shape.join(',')}]`)
          .join(';')}`;
  const cached = full === undefined ? undefined : curves.get(full);
  if (cached) return tuner.adopt(cached);
  await tuner.calibrateOn(run, sample);
  if (full !== undefined) rememberCurve(full, tuner.stats().curve);
}

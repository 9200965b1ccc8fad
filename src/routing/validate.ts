import { quantile } from './policy/index.js';
import type { PredictInput } from '../core/input.js';
import { ModelshipError, toModelshipError } from '../errors/index.js';
import type { PredictOutputs, ServableModel } from '../serving/servable.js';
import type { ParsedDeploymentOptions } from './deployment-options.js';

type ValidateOptions = NonNullable<ParsedDeploymentOptions['validate']>;

/** Predicted label per row: arg-max over the last axis for rank ≥ 2 outputs, the values themselves otherwise. */
export function predictedLabels(outputs: PredictOutputs, output?: string): number[] {
  const name = output ?? Object.keys(outputs)[0];
  const t = name === undefined ? undefined : outputs[name];
  if (t === undefined)
    throw new ModelshipError('VALIDATION_FAILED', `The model gave no output ${JSON.stringify(name)} to validate.`);
  const data = t.data as ArrayLike<number | bigint>;
  if (t.shape.length < 2) return Array.from(data, Number);
  const width = t.shape[t.shape.length - 1] as number;
  const labels: number[] = [];
  for (let r = 0; r < data.length / width; r++) {
    let best = 0;
    for (let i = 1; i < width; i++) if (Number(data[r * width + i]) > Number(data[r * width + best])) best = i;
    labels.push(best);
  }
  return labels;
}

function accuracy(labels: readonly number[], expect: readonly number[]): number {
  if (expect.length === 0) return 1;
  let correct = 0;
  for (let i = 0; i < expect.length; i++) if (labels[i] === expect[i]) correct++;
  return correct / expect.length;
}

async function medianLatency(model: ServableModel, inputs: PredictInput, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await model.predict(inputs);
    times.push(performance.now() - t0);
  }
  return quantile(times, 0.5) as number;
}

/**
 * Runs the validation sample on `candidate` (and on `current` where a comparison is asked for) and throws
 * VALIDATION_FAILED with the figures when a threshold is missed. Returns the figures otherwise.
 */
export async function validateCandidate(
  candidate: ServableModel,
  current: ServableModel,
  options: ValidateOptions,
): Promise<Record<string, number>> {
  const inputs = options.inputs as PredictInput;
  let outputs: PredictOutputs;
  try {
    outputs = await candidate.predict(inputs);
  } catch (error) {
    throw new ModelshipError(
      'VALIDATION_FAILED',
      `Version ${candidate.version} failed on the validation inputs: ${toModelshipError(error).message}`,
      { cause: error },
    );
  }
  const figures: Record<string, number> = {};
  const fail = (what: string): never => {
    throw new ModelshipError(
      'VALIDATION_FAILED',
      `Version ${candidate.version} failed validation: ${what}. The serving version ${current.version} keeps serving.`,
      {
        details: { version: candidate.version, ...figures },
      },
    );
  };
  if (options.expect !== undefined) {
    figures.accuracy = accuracy(predictedLabels(outputs, options.output), options.expect);
    if (options.minAccuracy !== undefined && figures.accuracy < options.minAccuracy) {
      fail(`accuracy ${figures.accuracy.toFixed(4)} is below minAccuracy ${options.minAccuracy}`);
    }
    if (options.maxAccuracyDrop !== undefined) {
      figures.currentAccuracy = accuracy(
        predictedLabels(await current.predict(inputs), options.output),
        options.expect,
      );
      if (figures.currentAccuracy - figures.accuracy > options.maxAccuracyDrop) {
        fail(
          `accuracy ${figures.accuracy.toFixed(4)} is more than ${options.maxAccuracyDrop} below the serving version's ${figures.currentAccuracy.toFixed(4)}`,
        );
      }
    }
  }
  if (options.maxLatencyRatio !== undefined) {
    const [mine, theirs] = [await medianLatency(candidate, inputs, 5), await medianLatency(current, inputs, 5)];
    figures.latencyRatio = mine / Math.max(theirs, 0.001);
    if (figures.latencyRatio > options.maxLatencyRatio)
      fail(
        `median latency is ${figures.latencyRatio.toFixed(2)}× the serving version's (max ${options.maxLatencyRatio})`,
      );
  }
  return figures;
}

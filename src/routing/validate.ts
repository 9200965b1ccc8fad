import { quantile, signatureIncompatibilities } from './policy/index.js';
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

/** What `evaluateCandidate` checks: `switchTo({ validate })`'s options, plus agreement with the serving version. */
export type ValidationCriteria = ValidateOptions & {
  /** Smallest share of rows on which the candidate predicts the serving version's label. */
  readonly minAgreement?: number;
  /** Runs per model for the median latency (default 5). */
  readonly latencyRuns?: number;
};

/** One check of a candidate: its figure, the limit it was held to, and whether it passed. */
export interface ValidationCheck {
  readonly name: 'signature' | 'predict' | 'accuracy' | 'accuracy-drop' | 'agreement' | 'latency-ratio';
  readonly passed: boolean;
  readonly value?: number;
  readonly limit?: number;
  /** Why it failed, or what was measured; a sentence. */
  readonly message: string;
}

/** Every check run on a candidate, side by side with the serving version, in one pass. */
export interface ValidationReport {
  readonly passed: boolean;
  readonly checks: readonly ValidationCheck[];
  /** The figures by name: `accuracy`, `currentAccuracy`, `agreement`, `latencyRatio`, … */
  readonly figures: Readonly<Record<string, number>>;
}

const f4 = (n: number): string => n.toFixed(4);

/**
 * Runs every check `criteria` asks for on `candidate` against `current` on the same sample — signature
 * compatibility, accuracy, accuracy drop, agreement, median-latency ratio — and reports them all (the CI gate
 * of `modelship validate`). `validateCandidate` is the same checks, failing at the first miss.
 */
export async function evaluateCandidate(
  candidate: ServableModel,
  current: ServableModel,
  criteria: ValidationCriteria,
): Promise<ValidationReport> {
  const checks: ValidationCheck[] = [];
  const figures: Record<string, number> = {};
  const done = (): ValidationReport => ({ passed: checks.every((c) => c.passed), checks, figures });
  const problems = signatureIncompatibilities(current.signature, candidate.signature);
  checks.push({
    name: 'signature',
    passed: problems.length === 0,
    message:
      problems.length === 0 ? 'takes every input and gives every output the serving version does' : problems.join('; '),
  });
  if (problems.length > 0) return done();
  const inputs = criteria.inputs as PredictInput;
  let outputs: PredictOutputs;
  try {
    outputs = await candidate.predict(inputs);
  } catch (error) {
    checks.push({
      name: 'predict',
      passed: false,
      message: `failed on the validation inputs: ${toModelshipError(error).message}`,
    });
    return done();
  }
  const labels = predictedLabels(outputs, criteria.output);
  const needCurrent = criteria.maxAccuracyDrop !== undefined || criteria.minAgreement !== undefined;
  const currentLabels = needCurrent ? predictedLabels(await current.predict(inputs), criteria.output) : undefined;
  if (criteria.expect !== undefined) {
    figures.accuracy = accuracy(labels, criteria.expect);
    if (criteria.minAccuracy !== undefined)
      checks.push({
        name: 'accuracy',
        passed: figures.accuracy >= criteria.minAccuracy,
        value: figures.accuracy,
        limit: criteria.minAccuracy,
        message: `accuracy ${f4(figures.accuracy)}${figures.accuracy >= criteria.minAccuracy ? ' is at least' : ' is below'} minAccuracy ${criteria.minAccuracy}`,
      });
    if (criteria.maxAccuracyDrop !== undefined && currentLabels !== undefined) {
      figures.currentAccuracy = accuracy(currentLabels, criteria.expect);
      const drop = figures.currentAccuracy - figures.accuracy;
      const passed = drop <= criteria.maxAccuracyDrop;
      checks.push({
        name: 'accuracy-drop',
        passed,
        value: drop,
        limit: criteria.maxAccuracyDrop,
        message: passed
          ? `accuracy ${f4(figures.accuracy)} against the serving version's ${f4(figures.currentAccuracy)} (drop within ${criteria.maxAccuracyDrop})`
          : `accuracy ${f4(figures.accuracy)} is more than ${criteria.maxAccuracyDrop} below the serving version's ${f4(figures.currentAccuracy)}`,
      });
    }
  }
  if (criteria.minAgreement !== undefined && currentLabels !== undefined) {
    figures.agreement = accuracy(labels, currentLabels);
    const passed = figures.agreement >= criteria.minAgreement;
    checks.push({
      name: 'agreement',
      passed,
      value: figures.agreement,
      limit: criteria.minAgreement,
      message: `predicts the serving version's label on ${f4(figures.agreement)} of the rows (min ${criteria.minAgreement})`,
    });
  }
  if (criteria.maxLatencyRatio !== undefined) {
    const runs = criteria.latencyRuns ?? 5;
    const [mine, theirs] = [await medianLatency(candidate, inputs, runs), await medianLatency(current, inputs, runs)];
    figures.latencyMs = mine;
    figures.currentLatencyMs = theirs;
    figures.latencyRatio = mine / Math.max(theirs, 0.001);
    const passed = figures.latencyRatio <= criteria.maxLatencyRatio;
    checks.push({
      name: 'latency-ratio',
      passed,
      value: figures.latencyRatio,
      limit: criteria.maxLatencyRatio,
      message: `median latency is ${figures.latencyRatio.toFixed(2)}× the serving version's (max ${criteria.maxLatencyRatio})`,
    });
  }
  return done();
}

/**
 * Runs the validation sample on `candidate` (and on `current` where a comparison is asked for) and throws
 * VALIDATION_FAILED with the figures when a threshold is missed. Returns the figures otherwise. The checks are
 * {@link evaluateCandidate}'s (the signature is checked before, when the version is loaded).
 */
export async function validateCandidate(
  candidate: ServableModel,
  current: ServableModel,
  options: ValidateOptions,
): Promise<Record<string, number>> {
  const report = await evaluateCandidate(candidate, current, options);
  const failed = report.checks.find((c) => !c.passed);
  if (failed === undefined) return { ...report.figures };
  if (failed.name === 'predict')
    throw new ModelshipError('VALIDATION_FAILED', `Version ${candidate.version} ${failed.message}`);
  throw new ModelshipError(
    'VALIDATION_FAILED',
    `Version ${candidate.version} failed validation: ${failed.message}. The serving version ${current.version} keeps serving.`,
    { details: { version: candidate.version, ...report.figures } },
  );
}

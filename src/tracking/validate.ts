import { ModelshipError } from '../errors/index.js';
import type { LogMetricsOptions, ParamValue, StartRunInput } from '../spec/tracking.js';

/**
 * The limits of an MLflow 2.x server (`mlflow/utils/validation.py`), applied by every tracker so that a run
 * valid for one is valid for all, and so that nothing is refused after it has been spooled.
 */
export const TRACKING_LIMITS = {
  paramValueLength: 6000,
  tagValueLength: 5000,
  keyLength: 250,
  experimentNameLength: 500,
} as const;

// MLflow allows alphanumerics (Python's Unicode-aware \w), "_", "-", ".", " " and "/".
const KEY = /^[\p{L}\p{N}_\-. /]+$/u;

function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'must be a non-empty string';
  if (key.length > TRACKING_LIMITS.keyLength)
    return `is ${key.length} characters long; the limit is ${TRACKING_LIMITS.keyLength}`;
  if (!KEY.test(key)) return 'may only contain letters, digits, "_", "-", ".", " " and "/"';
  // Keys become file names in MLflow's file store, so they must not resolve to another path.
  const parts = key.split('/');
  if (key.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..'))
    return 'must be a relative path without empty, "." or ".." segments';
  return undefined;
}

function fail(code: 'INVALID_PARAM' | 'INVALID_ARGUMENT', message: string, details: Record<string, unknown>): never {
  throw new ModelshipError(code, message, { details });
}

function checkKey(kind: 'param' | 'metric' | 'tag', key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) {
    fail(
      kind === 'param' ? 'INVALID_PARAM' : 'INVALID_ARGUMENT',
      `Invalid ${kind} name ${JSON.stringify(key)}: it ${problem}.`,
      { [kind]: key },
    );
  }
}

function plainRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('INVALID_ARGUMENT', `${what} takes an object such as { lr: 0.01 }.`, {});
  }
  return value as Record<string, unknown>;
}

/** Checks `startRun` input; returns the tags as a plain record. */
export function validateStartRun(input: StartRunInput): {
  experiment: string;
  name?: string;
  tags: Record<string, string>;
} {
  const record = plainRecord(input, 'startRun()');
  const experiment = record.experiment;
  if (typeof experiment !== 'string' || experiment.trim().length === 0) {
    fail('INVALID_ARGUMENT', 'startRun() needs an experiment name, e.g. startRun({ experiment: "mnist" }).', {});
  }
  if (experiment.length > TRACKING_LIMITS.experimentNameLength) {
    fail(
      'INVALID_ARGUMENT',
      `Experiment name is ${experiment.length} characters long; the limit is ${TRACKING_LIMITS.experimentNameLength}.`,
      {},
    );
  }
  if (
    record.name !== undefined &&
    (typeof record.name !== 'string' || record.name.length === 0 || record.name.length > TRACKING_LIMITS.keyLength)
  ) {
    fail(
      'INVALID_ARGUMENT',
      `Run name must be a non-empty string of at most ${TRACKING_LIMITS.keyLength} characters.`,
      {},
    );
  }
  const tags = record.tags === undefined ? {} : validateTags(record.tags as Record<string, string>);
  return { experiment, ...(record.name === undefined ? {} : { name: record.name as string }), tags };
}

/**
 * Checks params and stringifies their values. `logged` holds the run's params so far: a param keeps its first
 * value (MLflow refuses a change with a 400), so another value is refused here, before anything is spooled.
 */
export function validateParams(
  params: Readonly<Record<string, ParamValue>>,
  logged: ReadonlyMap<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(plainRecord(params, 'logParams()'))) {
    checkKey('param', key);
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      fail(
        'INVALID_PARAM',
        `Param ${JSON.stringify(key)} must be a string, number or boolean, got ${raw === null ? 'null' : typeof raw}.`,
        { param: key },
      );
    }
    const value = String(raw);
    if (value.length > TRACKING_LIMITS.paramValueLength) {
      fail(
        'INVALID_PARAM',
        `Param ${JSON.stringify(key)} is ${value.length} characters long; trackers accept at most ${TRACKING_LIMITS.paramValueLength}. Log a digest or a path instead, or store the value as an artifact.`,
        { param: key, length: value.length, limit: TRACKING_LIMITS.paramValueLength },
      );
    }
    const previous = logged.get(key);
    if (previous !== undefined && previous !== value) {
      fail(
        'INVALID_PARAM',
        `Param ${JSON.stringify(key)} was already logged as ${JSON.stringify(previous)}; params are immutable, so ${JSON.stringify(value)} is refused. Start another run, or log it as a metric or tag.`,
        { param: key },
      );
    }
    out[key] = value;
  }
  return out;
}

/** Checks tags (string values up to 5000 characters). */
export function validateTags(tags: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(plainRecord(tags, 'setTags()'))) {
    checkKey('tag', key);
    if (typeof value !== 'string')
      fail('INVALID_ARGUMENT', `Tag ${JSON.stringify(key)} must be a string, got ${typeof value}.`, { tag: key });
    if (value.length > TRACKING_LIMITS.tagValueLength) {
      fail(
        'INVALID_ARGUMENT',
        `Tag ${JSON.stringify(key)} is ${value.length} characters long; the limit is ${TRACKING_LIMITS.tagValueLength}.`,
        { tag: key },
      );
    }
    out[key] = value;
  }
  return out;
}

/** Checks metrics and options; returns the step and timestamp to record (step defaulting to `previousStep + 1`). */
export function validateMetrics(
  metrics: Readonly<Record<string, number>>,
  options: LogMetricsOptions | undefined,
  previousStep: number,
): { metrics: Record<string, number>; step: number; timestamp: number } {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(plainRecord(metrics, 'logMetrics()'))) {
    checkKey('metric', key);
    if (typeof value !== 'number')
      fail('INVALID_ARGUMENT', `Metric ${JSON.stringify(key)} must be a number, got ${typeof value}.`, { metric: key });
    out[key] = value;
  }
  const step = options?.step ?? previousStep + 1;
  if (!Number.isSafeInteger(step)) fail('INVALID_ARGUMENT', `step must be an integer, got ${String(step)}.`, {});
  const timestamp = options?.timestamp ?? Date.now();
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    fail(
      'INVALID_ARGUMENT',
      `timestamp must be a non-negative integer (milliseconds since the epoch), got ${String(timestamp)}.`,
      {},
    );
  }
  return { metrics: out, step, timestamp };
}

/** Checks an artifact path (`model/model.onnx`): relative, no `..`, forward slashes. */
export function validateArtifactPath(artifactPath: string): string {
  const parts = typeof artifactPath === 'string' ? artifactPath.split('/') : [];
  if (
    parts.length === 0 ||
    artifactPath.startsWith('/') ||
    artifactPath.includes('\\') ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  ) {
    fail(
      'INVALID_ARGUMENT',
      `Invalid artifact path ${JSON.stringify(artifactPath)}: use a relative path with "/" such as "model/model.onnx".`,
      {},
    );
  }
  return artifactPath;
}

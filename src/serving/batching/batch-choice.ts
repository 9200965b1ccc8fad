import type { BatchGainPoint, BatchingChoice } from './batcher-types.js';

/**
 * Batching pays for waiting only when a batch runs this many times more rows per second than single rows.
 * Below it, holding a request back while a worker is free costs more latency (and idle worker time) than the
 * fuller batch saves: a CNN that gains 1.05× from batches of 8 is better served one request per free worker.
 */
export const WAIT_PAYS_GAIN = 1.5;

/** What the measurement is allowed to choose, and within which bounds. */
export interface ChoiceSettings {
  /** The user's `maxBatchSize`, if given (it wins); otherwise the curve picks one up to `maxRowsCap`. */
  readonly maxBatchSize?: number | undefined;
  /** The user's `maxQueueDelayMs`, if given (an upper bound: used only when the measured gain pays for it). */
  readonly maxQueueDelayMs?: number | undefined;
  /** Largest batch the curve may choose when the user did not give one. */
  readonly maxRowsCap: number;
  /** The user's p99 latency budget in ms, if any: batches whose run exceeds half of it are not chosen. */
  readonly p99BudgetMs?: number | undefined;
}

const fmt = (n: number): string => (Math.round(n * 100) / 100).toString();

/**
 * Chooses `maxBatchSize`, the queue delay and split-vs-join from a batch-gain curve. Explicit settings win;
 * what the user left open is measured instead of asked for.
 */
export function chooseBatching(curve: readonly BatchGainPoint[], settings: ChoiceSettings): BatchingChoice {
  const { p99BudgetMs } = settings;
  const within = curve.filter((p) => p99BudgetMs === undefined || p.ms <= p99BudgetMs / 2 || p.rows === 1);
  const best = within.reduce<BatchGainPoint | undefined>((b, p) => (!b || p.gain > b.gain ? p : b), undefined);
  const bestGain = best?.gain ?? 1;
  // The largest size within 5 % of the best gain: as fast per row, and fewer batches cost the caller's thread
  // less. Past it, bigger batches run slower per row (or break the latency budget).
  const enough = within.filter((p) => p.gain >= 0.95 * bestGain).at(-1);
  // A single point says nothing about batching (one run filled the measurement budget): keep the default size.
  const measured = curve.length > 1;
  const maxBatchSize =
    settings.maxBatchSize ?? (measured ? Math.min(settings.maxRowsCap, enough?.rows ?? 1) : settings.maxRowsCap);
  const sizeWhy =
    settings.maxBatchSize !== undefined
      ? `maxBatchSize ${maxBatchSize} as configured`
      : !measured
        ? `maxBatchSize ${maxBatchSize} (the default): one run takes ${fmt(curve[0]?.ms ?? 0)} ms, too long to measure bigger batches within the warm-up budget`
        : `maxBatchSize ${maxBatchSize}: batches of ${enough?.rows ?? maxBatchSize} rows run ${fmt(enough?.gain ?? 1)}× the rows per second of single rows${p99BudgetMs === undefined ? '' : ` and fit the ${p99BudgetMs} ms p99 budget`}`;
  const pays = bestGain >= WAIT_PAYS_GAIN;
  let delay = 0;
  let delayWhy: string;
  if (!pays) {
    delayWhy =
      settings.maxQueueDelayMs !== undefined && settings.maxQueueDelayMs > 0
        ? `the configured ${settings.maxQueueDelayMs} ms queue delay is not applied: batching gains at most ${fmt(bestGain)}× here (waiting pays from ${WAIT_PAYS_GAIN}×), so queued requests are shared among free workers at once`
        : `no queue delay: batching gains at most ${fmt(bestGain)}×, so queued requests are shared among free workers at once`;
  } else if (settings.maxQueueDelayMs !== undefined) {
    delay = settings.maxQueueDelayMs;
    delayWhy = `queue delay ${delay} ms as configured (batching gains up to ${fmt(bestGain)}×)`;
  } else if (p99BudgetMs !== undefined) {
    // Leave room for the run itself twice over: a request can wait for one batch and run in the next.
    const runMs = curve.find((p) => p.rows === maxBatchSize)?.ms ?? best?.ms ?? 0;
    delay = Math.max(0, Math.min(p99BudgetMs / 4, p99BudgetMs - 2 * runMs));
    delayWhy = `queue delay ${fmt(delay)} ms: batching gains up to ${fmt(bestGain)}× and the ${p99BudgetMs} ms p99 budget leaves room to wait`;
  } else {
    delayWhy = `no queue delay: batching gains up to ${fmt(bestGain)}×, and batches form from what queues while workers are busy; give p99BudgetMs to trade latency for fuller batches`;
  }
  return {
    maxBatchSize,
    maxQueueDelayMs: delay,
    mode: delay > 0 ? 'join' : 'split',
    bestGain,
    reason: `${sizeWhy}; ${delayWhy}.`,
  };
}

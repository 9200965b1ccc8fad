import { toModelshipError } from '../../errors/index.js';
import { chooseBatching, type ChoiceSettings } from './batch-choice.js';
import { CALIBRATION_BUDGET_MS, gainPoint, measureBatchCurve } from './batch-curve.js';
import type { BatcherConfig, BatchGainPoint, BatchingChoice, BatchingStats, Feeds } from './batcher-types.js';
import { BATCHING_DEFAULTS } from './batching-options.js';

/** Live batches per size bucket (powers of two): a moving average of their run time. */
interface Bucket {
  rows: number;
  ms: number;
  count: number;
}

/** Live samples a bucket needs before it counts, and how often (in batches) the curve is compared with them. */
const MIN_LIVE = 32;
const CHECK_EVERY = 256;
/** Checks skipped after a re-measurement (8 × 256 batches), so that the new choice is judged on its own batches. */
const COOLDOWN_CHECKS = 8;
/** A change of the curve's shape this large (either way) means the load changed: choose again. */
const DRIFT = 0.3;

/**
 * Adaptive batching for one model: measures the batch-gain curve at warm-up, chooses from it (`chooseBatching`),
 * then watches the batches live traffic forms. When their run times stop matching the curve's shape by more
 * than 30 % (inputs of another size, another process taking the cores at some batch sizes, a budget no longer
 * met), the curve takes the live figures and the choice is made again; `apply` hands each choice to the batcher.
 */
export class BatchTuner {
  readonly #settings: ChoiceSettings;
  readonly #apply: (choice: BatchingChoice) => void;
  readonly #onChange: ((stats: BatchingStats) => void) | undefined;
  #curve: BatchGainPoint[] = [];
  #choice: BatchingChoice;
  #remeasured = 0;
  readonly #live: (Bucket | undefined)[] = [];
  #sinceCheck = 0;
  #cooldown = 0;

  constructor(
    settings: ChoiceSettings,
    initial: BatchingChoice,
    apply: (choice: BatchingChoice) => void,
    onChange?: (stats: BatchingStats) => void,
  ) {
    this.#settings = settings;
    this.#choice = initial;
    this.#apply = apply;
    this.#onChange = onChange;
  }

  /** Measures the curve on `sample` (the model's own input) through `run`, then chooses. Bounded in time. */
  async calibrate(
    run: (feeds: Feeds) => Promise<unknown>,
    sample: Feeds,
    budgetMs = CALIBRATION_BUDGET_MS,
  ): Promise<void> {
    const { maxBatchSize, maxRowsCap, p99BudgetMs } = this.#settings;
    this.#curve = await measureBatchCurve(run, sample, {
      maxRows: maxBatchSize ?? maxRowsCap,
      budgetMs,
      maxRunMs: p99BudgetMs === undefined ? undefined : p99BudgetMs / 2,
    });
    this.#choose();
  }

  /** Chooses from a curve measured elsewhere (an earlier run, `modelship bench`) instead of measuring. */
  adopt(curve: readonly BatchGainPoint[]): void {
    this.#curve = [...curve].sort((a, b) => a.rows - b.rows);
    this.#choose();
  }

  /**
   * `calibrate` on the model's warm-up input, as a model does while warming up: a model it cannot measure
   * (no input shapes, or a batched run fails) keeps its settings, with the reason in its stats. `false`: the
   * user turned warm-up off, so nothing runs.
   */
  async calibrateOn(run: (feeds: Feeds) => Promise<unknown>, sample: Feeds | undefined | false): Promise<void> {
    if (sample === false) return this.unmeasured('warm-up is off (warmup: false), and measuring would run the model.');
    if (!sample) return this.unmeasured('an input does not declare its shape; pass warmup: { inputs } to measure it.');
    await this.calibrate(run, sample).catch((error: unknown) => {
      this.unmeasured(`a batched run of the warm-up input failed (${toModelshipError(error).message}).`);
    });
  }

  /** The curve could not be measured (`why`); the settings stay as they are until live traffic is seen. */
  unmeasured(why: string): void {
    this.#choice = { ...this.#choice, reason: `not measured: ${why}` };
  }

  #choose(): void {
    this.#choice = chooseBatching(this.#curve, this.#settings);
    this.#apply(this.#choice);
    this.#onChange?.(this.stats());
  }

  /** A batch of `rows` rows ran in `ms` (live traffic). Cheap: a few arithmetic operations per batch. */
  observe(rows: number, ms: number): void {
    if (this.#curve.length === 0) return;
    const k = 31 - Math.clz32(rows);
    let b = this.#live[k];
    if (!b) b = this.#live[k] = { rows: 0, ms: 0, count: 0 };
    // Moving averages (last ~32 batches of this size bucket).
    const a = b.count < MIN_LIVE ? 1 / (b.count + 1) : 1 / MIN_LIVE;
    b.rows += (rows - b.rows) * a;
    b.ms += (ms - b.ms) * a;
    b.count++;
    if (++this.#sinceCheck >= CHECK_EVERY) {
      this.#sinceCheck = 0;
      this.#check();
    }
  }

  /**
   * Compares live batches with the curve. Live runs share the machine with each other and with the caller's
   * thread, so they are usually slower than at warm-up by some factor; that alone changes nothing (except
   * against a latency budget). What changes the choice is the shape: bigger batches gaining more, or less,
   * than the curve says, by more than 30 %. Then the curve takes the live figures (the rest scaled by that
   * factor), the choice is made again, and the next check waits 2048 batches.
   */
  #check(): void {
    if (this.#cooldown > 0) {
      this.#cooldown--;
      return;
    }
    const live = this.#live.filter(
      (b): b is Bucket => b !== undefined && b.count >= MIN_LIVE && this.#perRowAt(b.rows) !== undefined,
    );
    const base = live[0];
    if (!base) return;
    const scale = base.ms / base.rows / (this.#perRowAt(base.rows) as number);
    let drift = this.#settings.p99BudgetMs === undefined ? 0 : Math.abs(scale - 1);
    for (const b of live)
      drift = Math.max(drift, Math.abs(b.ms / b.rows / ((this.#perRowAt(b.rows) as number) * scale) - 1));
    if (drift <= DRIFT) return;
    const one = (this.#curve[0] as BatchGainPoint).ms * scale;
    const byRows = new Map<number, BatchGainPoint>();
    for (const p of this.#curve) byRows.set(p.rows, gainPoint(p.rows, p.ms * scale, one, p.source));
    for (const b of live) {
      const rows = Math.max(1, Math.round(b.rows));
      byRows.set(rows, gainPoint(rows, b.ms, one, 'live'));
    }
    this.#curve = [...byRows.values()].sort((a, b) => a.rows - b.rows);
    for (const b of live) b.count = 0; // start over against the new curve
    this.#cooldown = COOLDOWN_CHECKS;
    this.#remeasured++;
    this.#choose();
  }

  /** The curve's per-row time at `rows` (interpolated between measured sizes), or undefined beyond it. */
  #perRowAt(rows: number): number | undefined {
    const c = this.#curve;
    if (c.length === 0 || rows > (c.at(-1) as BatchGainPoint).rows * 1.5) return undefined;
    let lo = c[0] as BatchGainPoint;
    for (const p of c) {
      if (p.rows === rows) return p.ms / p.rows;
      if (p.rows > rows) {
        const t = (rows - lo.rows) / (p.rows - lo.rows || 1);
        return (lo.ms + (p.ms - lo.ms) * t) / rows;
      }
      lo = p;
    }
    return lo.ms / lo.rows;
  }

  stats(): BatchingStats {
    return { ...this.#choice, source: 'auto', curve: this.#curve, remeasured: this.#remeasured };
  }
}

/** Stats of a batcher whose settings are fixed (`adaptive: false`, or batching off): nothing measured. */
export function fixedBatchingStats(config: BatcherConfig): BatchingStats {
  const join = config.enabled && config.maxQueueDelayMs > 0;
  return {
    source: 'fixed',
    maxBatchSize: config.maxBatchSize,
    maxQueueDelayMs: config.maxQueueDelayMs,
    mode: join ? 'join' : 'split',
    bestGain: 1,
    reason: config.enabled
      ? 'settings as configured (adaptive: false): nothing was measured.'
      : 'batching is off (batching: false, or the signature has no dynamic first dimension).',
    curve: [],
    remeasured: 0,
  };
}

/** A tuner for a batcher whose configuration asks for adaptive batching, or undefined. */
export function createBatchTuner(
  config: BatcherConfig,
  apply: (choice: BatchingChoice) => void,
  onChange?: (stats: BatchingStats) => void,
): BatchTuner | undefined {
  const a = config.adaptive;
  if (!config.enabled || !a) return undefined;
  const initial: BatchingChoice = {
    maxBatchSize: config.maxBatchSize,
    maxQueueDelayMs: config.maxQueueDelayMs,
    mode: config.maxQueueDelayMs > 0 ? 'join' : 'split',
    bestGain: 1,
    reason: 'not measured yet (the warm-up measures the batch-gain curve when the input shapes are known).',
  };
  return new BatchTuner(
    {
      maxBatchSize: a.maxBatchSize,
      maxQueueDelayMs: a.maxQueueDelayMs,
      p99BudgetMs: a.p99BudgetMs,
      maxRowsCap: BATCHING_DEFAULTS.maxBatchSize,
    },
    initial,
    apply,
    onChange,
  );
}

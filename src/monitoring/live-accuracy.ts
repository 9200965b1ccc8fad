/** What a model's labelled predictions say, over the last `window` labels. */
export interface LiveAccuracyStats {
  /** Labels in the window. */
  readonly labelled: number;
  /** Classification: correct / labelled over the window (undefined without labels or for regression). */
  readonly accuracy: number | undefined;
  /** Regression: mean absolute error over the window. */
  readonly mae: number | undefined;
  /** Regression: root mean squared error over the window. */
  readonly rmse: number | undefined;
  /** Classification: labelled predictions by `actual → predicted` class since the start (at most 1024 cells). */
  readonly confusion: ReadonlyMap<string, number>;
}

const MAX_CONFUSION_CELLS = 1024;

/** A ring of the last `window` labelled predictions with running sums: O(1) per label, bounded memory. */
export class LiveAccuracy {
  readonly #task: 'classification' | 'regression';
  readonly #values: Float64Array;
  #next = 0;
  #count = 0;
  #sum = 0;
  #squares = 0;
  readonly #confusion = new Map<string, number>();

  constructor(window: number, task: 'classification' | 'regression') {
    this.#task = task;
    this.#values = new Float64Array(window);
  }

  /** One label joined to its prediction. */
  add(predicted: number, actual: number): void {
    const v = this.#task === 'classification' ? (predicted === actual ? 1 : 0) : Math.abs(predicted - actual);
    if (this.#count === this.#values.length) {
      const old = this.#values[this.#next] as number;
      this.#sum -= old;
      this.#squares -= old * old;
    } else {
      this.#count++;
    }
    this.#values[this.#next] = v;
    this.#next = (this.#next + 1) % this.#values.length;
    this.#sum += v;
    this.#squares += v * v;
    if (this.#task === 'classification') {
      const cell = `${actual}\u0000${predicted}`;
      const seen = this.#confusion.get(cell);
      if (seen !== undefined || this.#confusion.size < MAX_CONFUSION_CELLS) this.#confusion.set(cell, (seen ?? 0) + 1);
    }
  }

  /** Forgets the window (after a guardrail acted on it); the confusion counts stay. */
  reset(): void {
    this.#values.fill(0);
    this.#next = 0;
    this.#count = 0;
    this.#sum = 0;
    this.#squares = 0;
  }

  stats(): LiveAccuracyStats {
    const n = this.#count;
    const classification = this.#task === 'classification';
    return {
      labelled: n,
      accuracy: classification && n > 0 ? this.#sum / n : undefined,
      mae: !classification && n > 0 ? this.#sum / n : undefined,
      rmse: !classification && n > 0 ? Math.sqrt(Math.max(0, this.#squares / n)) : undefined,
      confusion: this.#confusion,
    };
  }
}

/** What a deployment's sliding window of recent requests saw over its span. */
export interface WindowStats {
  readonly requests: number;
  readonly errors: number;
  /** errors / requests (0 without requests). */
  readonly errorRate: number;
  /** Median latency in ms over the kept samples (undefined without samples). */
  readonly p50Ms: number | undefined;
  /** 99th percentile latency in ms over the kept samples (undefined without samples). */
  readonly p99Ms: number | undefined;
  /** Answers compared with another version's answer for the same input. */
  readonly compared: number;
  readonly agreed: number;
  /** agreed / compared (undefined without comparisons). */
  readonly agreement: number | undefined;
}

interface Bucket {
  start: number;
  requests: number;
  errors: number;
  latencies: number[];
  seen: number;
  compared: number;
  agreed: number;
}

/** Latency samples kept per bucket; past it, newer samples overwrite older ones in turn. */
const MAX_SAMPLES_PER_BUCKET = 512;

/** The `q`-quantile (0–1) of `values` by nearest rank; sorts a copy. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Counts, errors, latencies and agreement over the last `spanMs` of a clock, in `buckets` slices so old
 * slices fall out as time passes (memory stays bounded whatever the traffic). Time comes from `now`, so tests
 * can drive it.
 */
export class SlidingWindow {
  readonly #spanMs: number;
  readonly #bucketMs: number;
  readonly #now: () => number;
  #buckets: Bucket[] = [];

  constructor(spanMs: number, now: () => number, buckets = 10) {
    this.#spanMs = spanMs;
    this.#bucketMs = Math.max(1, spanMs / buckets);
    this.#now = now;
  }

  #current(): Bucket {
    const now = this.#now();
    const start = Math.floor(now / this.#bucketMs) * this.#bucketMs;
    const last = this.#buckets.at(-1);
    if (last !== undefined && last.start === start) return last;
    this.#expire(now);
    const bucket: Bucket = { start, requests: 0, errors: 0, latencies: [], seen: 0, compared: 0, agreed: 0 };
    this.#buckets.push(bucket);
    return bucket;
  }

  #expire(now: number): void {
    const oldest = now - this.#spanMs;
    while (this.#buckets.length > 0 && (this.#buckets[0] as Bucket).start + this.#bucketMs <= oldest)
      this.#buckets.shift();
  }

  /** One answered (or failed) request and how long it took. */
  record(latencyMs: number, failed: boolean): void {
    const b = this.#current();
    b.requests++;
    if (failed) b.errors++;
    else {
      if (b.latencies.length < MAX_SAMPLES_PER_BUCKET) b.latencies.push(latencyMs);
      else b.latencies[b.seen % MAX_SAMPLES_PER_BUCKET] = latencyMs;
      b.seen++;
    }
  }

  /**
   * A request already recorded as answered whose answer could not be sent after all (the HTTP layer failed to
   * encode it): it becomes an error. Its latency sample stays; it measured the version, which did answer.
   */
  answerFailed(): void {
    this.#current().errors++;
  }

  /** One comparison with another version's answer. */
  compare(agreed: boolean): void {
    const b = this.#current();
    b.compared++;
    if (agreed) b.agreed++;
  }

  /** Forgets everything (after an action was taken on what it showed). */
  reset(): void {
    this.#buckets = [];
  }

  stats(): WindowStats {
    this.#expire(this.#now());
    let requests = 0;
    let errors = 0;
    let compared = 0;
    let agreed = 0;
    const latencies: number[] = [];
    for (const b of this.#buckets) {
      requests += b.requests;
      errors += b.errors;
      compared += b.compared;
      agreed += b.agreed;
      for (const l of b.latencies) latencies.push(l);
    }
    return {
      requests,
      errors,
      errorRate: requests === 0 ? 0 : errors / requests,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      compared,
      agreed,
      agreement: compared === 0 ? undefined : agreed / compared,
    };
  }
}

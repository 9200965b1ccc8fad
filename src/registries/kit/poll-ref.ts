import { parseNamedRef } from '../../core/ref.js';
import { ModelshipError, toModelshipError } from '../../errors/index.js';
import type { ResolvedModel, WatchListener, WatchOptions } from '../../spec/registry.js';
import { invalidArgument } from '../errors.js';

/**
 * Options for a polling `watch`: the spec's {@link WatchOptions}, with `intervalMs` defaulting to the registry's
 * `watchIntervalMs` and errors always delivered as modelship errors.
 */
export interface PollWatchOptions extends Omit<WatchOptions, 'onError'> {
  /** Receives errors hit while polling (or thrown by the listener); watching continues regardless. */
  readonly onError?: (error: ModelshipError) => void;
  /**
   * Spreads polls by up to this fraction of the interval (0–1), so many replicas watching one remote registry do
   * not poll it in lockstep. Remote registries default to 0.2; the local registry to 0.
   */
  readonly jitter?: number;
}

/** The name the local registry exports {@link PollWatchOptions} under. */
export type LocalWatchOptions = PollWatchOptions;

type Baseline = NonNullable<WatchOptions['since']>;

function sameVersion(a: Baseline, b: ResolvedModel): boolean {
  // Comparing hash and time too catches a version number reused after someone deleted the newest directory.
  if (a.version !== b.version) return false;
  if (a.sha256 !== undefined && b.sha256 !== undefined && a.sha256 !== b.sha256) return false;
  return !(a.createdAt !== undefined && b.createdAt !== undefined && a.createdAt !== b.createdAt);
}

function isNotFound(error: unknown): boolean {
  return (
    ModelshipError.hasCode(error, 'MODEL_NOT_FOUND') ||
    ModelshipError.hasCode(error, 'VERSION_NOT_FOUND') ||
    ModelshipError.hasCode(error, 'ALIAS_NOT_FOUND')
  );
}

/**
 * Polls `resolve(ref)` every `intervalMs` (default `defaultIntervalMs`) and calls `listener` when the result moves
 * to another version. Polls never overlap, and the timer is unref'd so watching alone keeps no process alive.
 * Returns a function that stops watching.
 */
export function pollRef(
  resolve: (ref: string) => Promise<ResolvedModel>,
  defaultIntervalMs: number,
  ref: string,
  listener: WatchListener,
  options: PollWatchOptions = {},
  parseRef: (ref: string) => unknown = parseNamedRef,
  defaultJitter = 0,
): () => void {
  parseRef(ref); // fail fast on a bad ref instead of erroring on every poll
  if (typeof listener !== 'function') throw invalidArgument('watch() needs a listener function.');
  const interval = options.intervalMs ?? defaultIntervalMs;
  if (!Number.isFinite(interval) || interval <= 0)
    throw invalidArgument(`intervalMs must be a positive number, got ${interval}.`);
  const jitter = options.jitter ?? defaultJitter;
  if (!Number.isFinite(jitter) || jitter < 0 || jitter > 1)
    throw invalidArgument(`jitter must be between 0 and 1, got ${jitter}.`);
  let current: Baseline | undefined = options.since;
  let primed = options.since !== undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const report = (error: unknown): void => {
    try {
      options.onError?.(toModelshipError(error));
    } catch {
      // A failing error handler must not kill the poll loop either.
    }
  };
  const poll = async (): Promise<void> => {
    let next: ResolvedModel;
    try {
      next = await resolve(ref);
    } catch (error) {
      // "Nothing there yet" is a valid baseline: the model appearing later is a change worth reporting.
      if (!primed && isNotFound(error)) primed = true;
      report(error);
      return;
    }
    if (stopped) return;
    if (!primed) {
      primed = true;
      current = next;
      return;
    }
    if (current !== undefined && sameVersion(current, next)) return;
    current = next;
    try {
      listener(next);
    } catch (error) {
      report(error);
    }
  };
  const tick = (): void => {
    void poll()
      .catch(report)
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(tick, interval * (1 - jitter / 2 + Math.random() * jitter));
        timer.unref();
      });
  };
  tick();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}

import { ModelshipError } from '../errors/index.js';
import type { TensorLike } from '../spec/tensor.js';
import { countUnmatchedFeedback } from '../telemetry/monitoring-telemetry.js';
import type { FeedbackOutcome } from './feedback-window.js';
import type { ModelMonitor } from './model-monitor.js';

/** What a loaded model (and a deployment) offers for monitoring. */
export interface Monitored {
  /** Drift against the baseline and live accuracy; undefined unless loaded with `loadModel(ref, { monitoring })`. */
  readonly monitoring: ModelMonitor | undefined;
  /**
   * Joins the true label of the request made with `predict(input, { requestId })` (seconds to hours later).
   * Classification labels are class indices, regression labels numbers. Returns what became of it: `joined`,
   * `unknown`, `expired`, `duplicate` or `invalid`, all counted in `modelship.feedback`; only a model loaded
   * without `monitoring` throws (`INVALID_ARGUMENT`).
   *
   * @example
   * ```ts
   * await model.predict({ pixels }, { requestId: order.id });
   * // … later, when the truth is known:
   * model.feedback(order.id, 7); // 'joined'
   * ```
   */
  feedback(requestId: string, label: number): FeedbackOutcome;
}

const ignore = (): void => undefined;

/**
 * Hands an answered request to `monitor`: kept for feedback when it has an id, queued for drift when sampled.
 * Requests with neither cost one coin toss and no allocation.
 */
export function watchPrediction(
  monitor: ModelMonitor,
  answer: Promise<Record<string, TensorLike>>,
  feeds: Record<string, TensorLike>,
  requestId: string | undefined,
): void {
  const sampled = monitor.sample();
  if (!sampled && requestId === undefined) return;
  answer.then((outputs) => monitor.observe(feeds, outputs, requestId, sampled), ignore);
}

function notMonitored(name: string): ModelshipError {
  return new ModelshipError(
    'INVALID_ARGUMENT',
    `${name} is not monitored, so it keeps no predictions to join labels to; load it with loadModel(ref, { monitoring: {} }).`,
  );
}

/**
 * Feedback for whichever of `monitors` (the versions of a deployment, or one model) recorded `requestId`;
 * `unknown` (counted once, under the model name) when none did.
 */
export function feedbackTo(
  name: string,
  monitors: readonly (ModelMonitor | undefined)[],
  requestId: string,
  label: number,
): FeedbackOutcome {
  const present = monitors.filter((m): m is ModelMonitor => m !== undefined);
  if (present.length === 0) throw notMonitored(name);
  if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 256) {
    countUnmatchedFeedback(name, 'invalid');
    return 'invalid';
  }
  const owner = present.find((m) => m.knows(requestId));
  if (owner !== undefined) return owner.feedback(requestId, label);
  countUnmatchedFeedback(name, 'unknown');
  return 'unknown';
}

/** What a version's monitoring adds to its guardrail window: live accuracy, labels, drifted share. */
export function monitoredStats(model: object): {
  liveAccuracy?: number | undefined;
  labelled?: number;
  driftShare?: number | undefined;
} {
  const monitor = (model as Partial<Monitored>).monitoring;
  if (monitor === undefined) return {};
  const r = monitor.report();
  return { liveAccuracy: r.live.accuracy, labelled: r.live.labelled, driftShare: r.drift?.share };
}

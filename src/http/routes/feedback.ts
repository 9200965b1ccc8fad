import { ModelshipError } from '../../errors/index.js';
import type { FeedbackOutcome } from '../../monitoring/feedback-window.js';
import type { Servable } from '../../serving/servable.js';
import type { OutboundResponse } from '../exchange.js';
import { json } from '../responses.js';
import type { RouteContext } from '../route-context.js';

/** Labels accepted in one batch call. */
export const MAX_FEEDBACK_BATCH = 10_000;

interface Labelled {
  feedback(requestId: string, label: number): FeedbackOutcome;
}

function bad(message: string): ModelshipError {
  return new ModelshipError(
    'INVALID_INPUT',
    `${message} Send {"id": "<x-request-id of the prediction>", "label": <number>} or {"feedback": [{"id", "label"}, …]} (at most ${MAX_FEEDBACK_BATCH}).`,
  );
}

function item(value: unknown, where: string): { id: string; label: number } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${where} is not an object.`);
  const { id, label } = value as Record<string, unknown>;
  if (typeof id !== 'string' || id.length === 0) throw bad(`${where}.id must be a non-empty string.`);
  if (typeof label !== 'number') throw bad(`${where}.label must be a number.`);
  return { id, label };
}

/**
 * `POST /v2/models/{name}[/versions/{v}]/feedback`: true labels for earlier predictions, by their request id
 * (`x-request-id`). One `{id, label}` answers `{id, outcome}`; a batch `{feedback: [...]}` answers the outcome of
 * each and their counts. Unknown or expired ids are outcomes, not errors (labels often outlive the window).
 */
export async function handleFeedback(ctx: RouteContext, model: Servable): Promise<OutboundResponse> {
  const target = model as Partial<Labelled>;
  if (typeof target.feedback !== 'function')
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      `${model.name} takes no feedback: it is not a loaded model or deployment.`,
    );
  const body = await ctx.body();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('The body is not a JSON object.');
  const batch = (body as Record<string, unknown>).feedback;
  if (batch === undefined) {
    const { id, label } = item(body, 'The body');
    return json({ id, outcome: target.feedback(id, label) });
  }
  if (!Array.isArray(batch) || batch.length === 0 || batch.length > MAX_FEEDBACK_BATCH)
    throw bad(`feedback must be an array of 1 to ${MAX_FEEDBACK_BATCH} items.`);
  // Every item is checked before any is joined: a bad item changes nothing.
  const items = batch.map((v, i) => item(v, `feedback[${i}]`));
  const counts: Record<string, number> = {};
  const outcomes = items.map(({ id, label }) => {
    const outcome = (target as Labelled).feedback(id, label);
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    return outcome;
  });
  return json({ outcomes, counts });
}

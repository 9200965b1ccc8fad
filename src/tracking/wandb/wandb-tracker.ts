import { createWandbClient } from '../../clients/wandb/wandb-client.js';
import { createTrackerHttp } from '../http.js';
import { createSpooledTracker, type SpooledTracker } from '../spool/spooled-tracker.js';
import { SPOOL_DEFAULTS } from '../spool/spool-options.js';
import { createWandbTransport } from './wandb-transport.js';
import { parseWandbTrackerOptions, type WandbTrackerOptions } from './wandb-tracker-options.js';

/** A Weights & Biases tracker: the spec's client, its spool, and `stats()`. */
export type WandbTracker = SpooledTracker & { readonly kind: 'wandb' };

/**
 * Creates a tracker that logs to Weights & Biases over its public wire protocol (GraphQL `upsertBucket` and the
 * run file stream), with no Python and no W&B service process. Every call is spooled to disk first and
 * shipped in the background; W&B's line offsets make a replay overwrite what already arrived.
 *
 * Mapping: the project is fixed per tracker and `experiment` becomes the run's W&B group; params go to the run
 * config, tags become W&B tags `key:value`, and each `logMetrics` call is one history row with its `_step`.
 *
 * @example
 * ```ts
 * const tracker = createWandbTracker({ entity: 'my-team', project: 'mnist' }); // key from WANDB_API_KEY
 * const run = await tracker.startRun({ experiment: 'mnist', name: 'lr-0.1' });
 * run.logParams({ lr: 0.1 });
 * run.logMetrics({ loss: 0.31, accuracy: 0.91 }, { step: 1 });
 * await run.end();
 * await tracker.close();
 * ```
 */
export function createWandbTracker(options: WandbTrackerOptions = {}): WandbTracker {
  const parsed = parseWandbTrackerOptions(options);
  const wandb = createWandbClient({
    baseUrl: parsed.baseUrl,
    apiKey: parsed.apiKey,
    fetch: parsed.fetch ?? globalThis.fetch,
    timeoutMs: parsed.requestTimeoutMs ?? SPOOL_DEFAULTS.requestTimeoutMs,
    // Each request is sent once: the spool flusher is the retry loop (forever, for durability).
    retries: 0,
    backoff: { baseMs: 0, maxMs: 0 },
  });
  const baseUrl = wandb.baseUrl;
  const target = { entity: parsed.entity, project: parsed.project };
  return createSpooledTracker({
    kind: 'wandb',
    trackingUri: `${baseUrl}/${parsed.entity}/${parsed.project}`,
    destination: `${baseUrl}/${parsed.entity}/${parsed.project}`,
    transport: createWandbTransport(wandb, target, createTrackerHttp(wandb.http)),
    options: parsed,
  }) as WandbTracker;
}

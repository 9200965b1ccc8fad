import { agrees, type AgreementRule } from './policy/index.js';
import type { PredictInput } from '../core/input.js';
import { toModelshipError } from '../errors/index.js';
import type { Logger } from '../serving/logger.js';
import type { PredictOutputs } from '../serving/servable.js';
import type { DeploymentTelemetry } from '../telemetry/index.js';
import type { VersionSlot } from './version-slot.js';

/** One mirrored request: run `input` on `target` and compare with `reference`, counting it in `judged`'s window. */
export interface MirrorTask {
  readonly target: VersionSlot;
  readonly input: PredictInput;
  readonly reference: PredictOutputs;
  /** Whose agreement this measures (the shadow itself, or a canary compared against stable). */
  readonly judged: VersionSlot;
  readonly rule: AgreementRule;
  /** Whether the target's latency and errors go into its own window (a shadow: yes; stable answering a comparison: no). */
  readonly recordTarget: boolean;
}

/** Counters of the mirror queue, for `status()`. */
export interface MirrorStats {
  readonly queued: number;
  readonly running: number;
  readonly completed: number;
  readonly failed: number;
  readonly dropped: number;
}

/** Queue size and per-request deadline (ms) of the mirror when the shadow options do not set them. */
const MIRROR_DEFAULTS = { queueSize: 64, timeoutMs: 10_000 };

/**
 * Runs mirrored requests off the callers' path: a bounded queue (full → dropped and counted) drained by a few
 * concurrent runners. Nothing here can reach a caller: errors are counted, logged at debug level, and dropped.
 */
export class Mirror {
  readonly #queue: MirrorTask[] = [];
  readonly #capacity: number;
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  readonly #telemetry: DeploymentTelemetry;
  readonly #logger: Logger;
  #running = 0;
  #completed = 0;
  #failed = 0;
  #dropped = 0;
  #closed = false;

  constructor(options: {
    capacity: number;
    concurrency: number;
    timeoutMs: number;
    telemetry: DeploymentTelemetry;
    logger: Logger;
  }) {
    this.#capacity = options.capacity;
    this.#concurrency = options.concurrency;
    this.#timeoutMs = options.timeoutMs;
    this.#telemetry = options.telemetry;
    this.#logger = options.logger;
  }

  /** The mirror for a deployment's `shadow` options (the defaults without a shadow: only canary comparisons use it then). */
  static for(
    shadow: { queueSize?: number; concurrency?: number; timeoutMs?: number } | undefined,
    telemetry: DeploymentTelemetry,
    logger: Logger,
  ): Mirror {
    return new Mirror({
      capacity: shadow?.queueSize ?? MIRROR_DEFAULTS.queueSize,
      concurrency: shadow?.concurrency ?? 1,
      timeoutMs: shadow?.timeoutMs ?? MIRROR_DEFAULTS.timeoutMs,
      telemetry,
      logger,
    });
  }

  stats(): MirrorStats {
    return {
      queued: this.#queue.length,
      running: this.#running,
      completed: this.#completed,
      failed: this.#failed,
      dropped: this.#dropped,
    };
  }

  /** Queues a task, or drops it when the queue is full or the mirror closed. */
  offer(task: MirrorTask): void {
    if (this.#closed || task.target.retired) return;
    if (this.#queue.length >= this.#capacity) {
      this.#dropped++;
      this.#telemetry.mirrored(task.target.version, 'dropped');
      return;
    }
    this.#queue.push(task);
    this.#pump();
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      const task = this.#queue.shift() as MirrorTask;
      this.#running++;
      // A microtask hop keeps the caller's promise chain from running any of the mirror's work.
      void Promise.resolve()
        .then(() => this.#run(task))
        .finally(() => {
          this.#running--;
          this.#pump();
        });
    }
  }

  async #run(task: MirrorTask): Promise<void> {
    if (task.target.retired) return;
    const started = performance.now();
    // Not counted as in flight on the target: a version that never answers must not hold up its own closing.
    try {
      const outputs = await task.target.model.predict(task.input, { deadlineMs: this.#timeoutMs });
      const ms = performance.now() - started;
      let agreed = false;
      try {
        agreed = agrees(task.rule, task.reference, outputs);
      } catch (error) {
        this.#logger.debug(`Comparing answers of ${task.judged.version} failed: ${toModelshipError(error).message}`);
      }
      if (task.recordTarget) task.target.window.record(ms, false);
      task.judged.window.compare(agreed);
      this.#completed++;
      this.#telemetry.mirrored(task.judged.version, agreed ? 'agreed' : 'disagreed', ms / 1000);
    } catch (error) {
      const ms = performance.now() - started;
      if (task.recordTarget) task.target.window.record(ms, true);
      this.#failed++;
      this.#telemetry.mirrored(task.target.version, 'error', ms / 1000);
      this.#logger.debug(`Mirrored request to ${task.target.version} failed: ${toModelshipError(error).message}`);
    }
  }

  /** Stops taking tasks and forgets the queued ones (running ones finish on their own). */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
  }
}

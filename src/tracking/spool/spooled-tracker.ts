import { createHash, randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { defaultLogger } from '../../core/logger.js';
import { observeSpool } from '../../telemetry/spool-metrics.js';
import { validateStartRun } from '../validate.js';
import { ModelshipError, toModelshipError } from '../../errors/index.js';
import { copyFileHashed, writeFileDurable } from '../../platform/node/fs-atomic.js';
import type { FlushReport, RemoteRunRef, TrackingClient, TrackingRun } from '../../spec/tracking.js';
import { createRunHandle, type RunHandle, type RunSink } from '../run-handle.js';
import { createReporter } from '../tracker-options.js';
import { startFlusher, type Flusher, type Transport } from './flusher.js';
import { adoptOrphans, createOwnedDir, heartbeat, moveAside, releaseDir } from './spool-dir.js';
import { salvageSpool } from './spool-files.js';
import { SPOOL_ACK_FILE, SPOOL_BLOB_DIR, openSpool, type Spool } from './spool.js';
import { SPOOL_DEFAULTS, type SpoolOptions } from './spool-options.js';

/** A transport plus what the tracker needs to name runs and point at them. */
export interface TrackerTransport extends Transport {
  /** A new run key (W&B: the run id itself; MLflow: the spool's key until the server assigns an id). */
  newRunId(): string;
  /** Where run `key` lives, as far as the acknowledged `state` knows. */
  remote(key: string, state: Record<string, unknown>): RemoteRunRef;
}

/** Counters of a network tracker, for monitoring and tests. */
export interface TrackerStats {
  /** Records not yet acknowledged by the server, across this tracker's spools. */
  readonly pendingRecords: number;
  /** Records held in memory; never more than `maxMemoryRecords` per spool. */
  readonly memoryRecords: number;
  readonly maxMemoryRecords: number;
  /** Spools being delivered: this tracker's own and any adopted from processes that died. */
  readonly spools: number;
}

/** A network tracker: the spec's client plus its spool. */
export interface SpooledTracker extends TrackingClient {
  /** This tracker's own spool directory (known once `ready()` resolved). */
  readonly spoolDir: string | undefined;
  /** Resolves once the spool is open and abandoned spools (from processes that died) have been adopted. */
  ready(): Promise<void>;
  /** Records waiting for the server (in memory and on disk) and the spools being delivered. */
  stats(): TrackerStats;
}

/** What `createSpooledTracker` needs from a concrete tracker. */
export interface SpooledTrackerInit {
  readonly kind: 'mlflow' | 'wandb' | 'local';
  readonly trackingUri: string;
  /** Identifies the destination (server, project): spools are shared only between trackers with the same one. */
  readonly destination: string;
  readonly transport: TrackerTransport;
  readonly options: SpoolOptions;
}

/**
 * The tracker behind `createMlflowTracker` and `createWandbTracker`: every call is appended to an on-disk spool,
 * and a background flusher ships it through `transport` with batching and retries. Delivery failures never
 * reach the caller; they go to `onError`.
 */
export function createSpooledTracker(init: SpooledTrackerInit): SpooledTracker {
  const { options, transport } = init;
  const report = createReporter(options);
  const spoolError = (error: unknown): void =>
    report(
      toModelshipError(
        error,
        'SPOOL_WRITE_FAILED',
        `Could not write the tracker spool (${(error as Error).message}); the records stay in memory and are written again.`,
      ),
    );
  const logger = options.logger ?? defaultLogger;
  const root = resolvePath(options.spoolDir ?? process.env.MODELSHIP_SPOOL_DIR ?? join('.modelship', 'spool'));
  const base = join(root, `${init.kind}-${createHash('sha256').update(init.destination).digest('hex').slice(0, 16)}`);
  const limits = {
    maxMemoryRecords: options.maxMemoryRecords ?? SPOOL_DEFAULTS.maxMemoryRecords,
    segmentBytes: SPOOL_DEFAULTS.segmentBytes,
    writeBufferBytes: SPOOL_DEFAULTS.writeBufferBytes,
  };
  const orphanAfterMs = options.orphanAfterMs ?? SPOOL_DEFAULTS.orphanAfterMs;
  const open = new Map<string, RunHandle>();
  const adopted = new Set<Spool>();
  let own: Spool | undefined;
  let flusher: Flusher | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let closing: Promise<FlushReport> | undefined;
  /** Records of spools already removed that were lost (missing or unreadable on disk, dropped on a full disk). */
  let lostBefore = 0;

  async function onDrained(spool: Spool): Promise<void> {
    if (!adopted.has(spool)) return;
    if (spool.openRuns.size > 0) {
      // Its process died with these runs open: end them, so the server does not show them running forever.
      for (const run of spool.openRuns) spool.append({ run, kind: 'end', status: 'KILLED', time: Date.now() });
      return;
    }
    adopted.delete(spool);
    lostBefore += spool.lost();
    await spool.close();
    await releaseDir(spool.dir, true);
    flusher?.spools.splice(flusher.spools.indexOf(spool), 1);
  }

  /** Opens an adopted spool; one whose `ack.json` is damaged is moved aside and what it holds replayed from a copy. */
  async function openAdopted(orphan: string): Promise<Spool> {
    try {
      return await openSpool(orphan, limits, report);
    } catch (error) {
      if (!ModelshipError.hasCode(error, 'SPOOL_CORRUPT')) throw error;
      const aside = await moveAside(orphan);
      const fresh = await createOwnedDir(base);
      await salvageSpool(aside, fresh);
      report(
        new ModelshipError(
          'SPOOL_CORRUPT',
          `${error.message} The spool was moved to ${aside} and its records are replayed from the oldest one kept.`,
          {
            cause: error,
            details: { ...error.details, file: join(aside, SPOOL_ACK_FILE), movedTo: aside },
          },
        ),
      );
      return openSpool(fresh, limits, report);
    }
  }

  const ready = (async () => {
    await mkdir(base, { recursive: true }).catch((error: unknown) => {
      throw toModelshipError(
        error,
        'INTERNAL',
        `Could not create the tracker spool in ${base} (${(error as Error).message}); set spoolDir (or MODELSHIP_SPOOL_DIR) to a writable directory.`,
      );
    });
    const dir = await createOwnedDir(base);
    const orphans = await adoptOrphans(base, new Set([dir]), { orphanAfterMs, report });
    const spools: Spool[] = [];
    for (const orphan of orphans) {
      // Someone else's leftovers must never stop this tracker: what cannot be opened is reported and set aside.
      const spool = await openAdopted(orphan).catch((error: unknown) => {
        report(
          toModelshipError(
            error,
            'SPOOL_CORRUPT',
            `Could not open the abandoned spool ${orphan} (${(error as Error).message}); it is left for inspection.`,
          ),
        );
        return undefined;
      });
      if (spool === undefined) continue;
      adopted.add(spool);
      spools.push(spool);
    }
    own = await openSpool(dir, limits, spoolError);
    spools.push(own);
    if (orphans.length > 0)
      logger.info(`tracker: replaying ${orphans.length} spool(s) left by earlier processes in ${base}`);
    flusher = startFlusher(spools, {
      transport,
      backoff: {
        baseMs: options.retry?.initialDelayMs ?? SPOOL_DEFAULTS.initialDelayMs,
        maxMs: options.retry?.maxDelayMs ?? SPOOL_DEFAULTS.maxDelayMs,
        maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? SPOOL_DEFAULTS.maxRetryAfterMs,
      },
      batchRecords: options.batchRecords ?? SPOOL_DEFAULTS.batchRecords,
      lingerMs: options.lingerMs ?? SPOOL_DEFAULTS.lingerMs,
      onError: report,
      onDrained,
    });
    for (const spool of adopted) if (spool.pending() === 0) await onDrained(spool);
    flusher.wake();
    heartbeatTimer = setInterval(
      () => void heartbeat(flusher?.spools.map((s) => s.dir) ?? []),
      Math.max(1000, orphanAfterMs / 4),
    );
    heartbeatTimer.unref();
  })();
  ready.catch((error: unknown) => report(toModelshipError(error, 'INTERNAL')));

  const sink: RunSink = {
    record(record) {
      (own as Spool).append(record);
      flusher?.wake();
    },
    async artifact(runId, source, artifactPath) {
      const spool = own as Spool;
      await mkdir(join(spool.dir, SPOOL_BLOB_DIR), { recursive: true });
      const file = join(SPOOL_BLOB_DIR, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`);
      let size: number;
      if (typeof source === 'string') {
        const info = await stat(source).catch(() => undefined);
        if (info === undefined || !info.isFile()) {
          throw new ModelshipError('INVALID_ARGUMENT', `logArtifact(): no file at ${resolvePath(source)}.`, {
            details: { file: resolvePath(source) },
          });
        }
        size = (await copyFileHashed(resolvePath(source), join(spool.dir, file))).size;
      } else {
        await writeFileDurable(join(spool.dir, file), source);
        size = source.byteLength;
      }
      sink.record({ run: runId, kind: 'artifact', file, path: artifactPath, size });
    },
    async remote(runId, timeoutMs) {
      await ready;
      const current = (): RemoteRunRef => transport.remote(runId, (own as Spool).state);
      if (current().runId === undefined)
        await (flusher as Flusher).waitFor(() => current().runId !== undefined, timeoutMs);
      return current();
    },
    report,
  };

  function summary(delivered: boolean): FlushReport {
    const spools = flusher?.spools ?? [];
    const pendingRecords = spools.reduce((n, s) => n + s.pending(), 0);
    const lostRecords = spools.reduce((n, s) => n + s.lost(), lostBefore);
    // Records found missing or unreadable were not sent: never call that delivered.
    return {
      delivered: delivered && lostRecords === 0,
      pendingRecords,
      ...(lostRecords > 0 ? { lostRecords } : {}),
      ...(own === undefined ? {} : { spoolDir: own.dir }),
    };
  }

  async function flush(timeoutMs: number): Promise<FlushReport> {
    try {
      await ready;
    } catch {
      return summary(false);
    }
    const f = flusher as Flusher;
    await Promise.all(f.spools.map((s) => s.sync().catch(spoolError)));
    return summary(await f.drain(timeoutMs));
  }

  async function close(timeoutMs: number): Promise<FlushReport> {
    if (
      !(await ready.then(
        () => true,
        () => false,
      ))
    )
      return summary(false);
    await Promise.allSettled([...open.values()].map((run) => run.end('FINISHED')));
    const result = await flush(timeoutMs);
    clearInterval(heartbeatTimer);
    if (flusher === undefined) return result;
    await flusher.stop();
    for (const spool of flusher.spools) {
      await spool.close();
      await releaseDir(spool.dir, spool.pending() === 0).catch(report);
    }
    const final = summary(result.delivered && result.pendingRecords === 0);
    if (final.pendingRecords > 0) {
      logger.warn(
        `tracker: ${final.pendingRecords} record(s) not delivered before close; they stay in ${base} and are sent by the next tracker started there.`,
      );
    }
    return final;
  }

  const gauge = observeSpool(init.kind, () => tracker.stats().pendingRecords);
  const tracker: SpooledTracker = {
    specificationVersion: 'v1',
    kind: init.kind,
    trackingUri: init.trackingUri,
    get spoolDir() {
      return own?.dir;
    },
    ready: () => ready,

    async startRun(input): Promise<TrackingRun> {
      gauge.refresh();
      const { experiment, name, tags } = validateStartRun(input);
      if (closing !== undefined)
        throw new ModelshipError('NOT_READY', 'startRun() on a closed tracker; create a new tracker.');
      await ready;
      const id = transport.newRunId();
      const runName = name ?? `run-${id.slice(0, 8)}`;
      sink.record({ run: id, kind: 'start', experiment, name: runName, tags, time: Date.now() });
      const handle = createRunHandle({ id, experiment, name: runName, sink, onEnd: (key) => open.delete(key) });
      open.set(id, handle);
      return handle;
    },

    flush: (flushOptions) => flush(flushOptions?.timeoutMs ?? 30_000),

    close(closeOptions) {
      closing ??= close(closeOptions?.timeoutMs ?? 30_000).finally(gauge.close);
      return closing;
    },

    stats() {
      const spools = flusher?.spools ?? [];
      return {
        pendingRecords: spools.reduce((n, s) => n + s.pending(), 0),
        memoryRecords: spools.reduce((n, s) => n + s.memoryRecords(), 0),
        maxMemoryRecords: limits.maxMemoryRecords,
        spools: spools.length,
      };
    },

    [Symbol.asyncDispose]: () => tracker.close().then(() => undefined),
  };
  return tracker;
}

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { SpoolRecord } from '../records.js';
import { ModelshipError } from '../../errors/index.js';
import { hasErrnoCode } from '../../platform/node/fs-atomic.js';
import type { RemoteRunRef } from '../../spec/tracking.js';
import type { DeliveryContext } from '../spool/flusher.js';
import type { TrackerTransport } from '../spool/spooled-tracker.js';
import { mlflowSystemTags } from '../system-tags.js';
import type { FileStore, NewRun } from './file-store.js';

type RunState = Omit<NewRun, 'runId'> | { rejected: true };

/** What the spool remembers between deliveries: each run's experiment id and metadata, keyed by run id. */
interface LocalState {
  runs?: Record<string, RunState>;
}

/** Errors a later attempt can get past (space freed, permissions fixed); anything else would fail forever. */
const TRANSIENT = ['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN'];

/**
 * Ships spooled records into MLflow's file store: the local tracker is a spooled tracker like the network ones,
 * so a logged point is on disk in the spool before it is applied to `mlruns/`, and a process killed in between
 * has its records applied by the next tracker started on the same directory.
 */
export function createLocalTransport(store: FileStore, trackingUri: string): TrackerTransport {
  let initialized: Promise<void> | undefined;

  /** Runs one file-store write: transient failures are retried from the last commit, the others are refused. */
  const write = (ctx: DeliveryContext, what: string, task: () => Promise<unknown>): Promise<boolean> =>
    ctx.attempt(async () => {
      try {
        await task();
      } catch (error) {
        const message = `Could not write ${what} under ${store.root}: ${(error as Error).message}.`;
        if (hasErrnoCode(error, ...TRANSIENT)) {
          throw new ModelshipError(
            'INTERNAL',
            `${message} Check the directory's permissions and free space; it is retried.`,
            { cause: error, retryable: true },
          );
        }
        throw new ModelshipError('TRACKING_REJECTED', `${message} The record was dropped.`, { cause: error });
      }
    });

  async function deliver(records: readonly SpoolRecord[], ctx: DeliveryContext): Promise<void> {
    const runs = ((ctx.state as LocalState).runs ??= {});
    initialized ??= store.init().catch((error: unknown) => {
      initialized = undefined;
      throw new ModelshipError('INTERNAL', `Could not create ${store.root}: ${(error as Error).message}.`, {
        cause: error,
        retryable: true,
      });
    });
    await initialized;
    let i = 0;
    while (i < records.length) {
      const record = records[i] as SpoolRecord;
      if (record.kind === 'start') {
        const ok = await write(ctx, `run ${record.name}`, async () => {
          const experimentId = await store.ensureExperiment(record.experiment);
          const tags: Record<string, string> = { ...mlflowSystemTags(), ...record.tags, 'mlflow.runName': record.name };
          const run: NewRun = {
            experimentId,
            runId: record.run,
            name: record.name,
            user: tags['mlflow.user'] ?? '',
            startTime: record.time,
          };
          await store.createRun(run, tags);
          runs[record.run] = { experimentId, name: run.name, user: run.user, startTime: run.startTime };
        });
        if (!ok) runs[record.run] = { rejected: true };
        await ctx.commit(record.seq);
        i++;
        continue;
      }
      if (record.kind === 'metrics') {
        // Consecutive metric records become one append per run and key.
        let j = i;
        const points = new Map<
          string,
          { run: NewRun; key: string; points: { time: number; value: number; step: number }[] }
        >();
        for (; j < records.length && (records[j] as SpoolRecord).kind === 'metrics'; j++) {
          const r = records[j] as Extract<SpoolRecord, { kind: 'metrics' }>;
          const state = runs[r.run];
          if (state === undefined || 'rejected' in state) continue;
          for (const [key, value] of Object.entries(r.metrics)) {
            const id = `${r.run}\u0000${key}`;
            const entry = points.get(id) ?? { run: { ...state, runId: r.run }, key, points: [] };
            entry.points.push({ time: r.time, value, step: r.step });
            points.set(id, entry);
          }
        }
        for (const { run, key, points: p } of points.values())
          await write(ctx, `metric ${key}`, () => store.appendMetric(run, key, p));
        await ctx.commit((records[j - 1] as SpoolRecord).seq);
        i = j;
        continue;
      }
      const state = runs[record.run];
      if (state !== undefined && !('rejected' in state)) {
        const run: NewRun = { ...state, runId: record.run };
        if (record.kind === 'params')
          await write(ctx, 'params', async () => {
            for (const [k, v] of Object.entries(record.params)) await store.writeParam(run, k, v);
          });
        else if (record.kind === 'tags')
          await write(ctx, 'tags', async () => {
            for (const [k, v] of Object.entries(record.tags)) await store.writeTag(run, k, v);
          });
        else if (record.kind === 'end')
          await write(ctx, `the end of run ${record.run}`, () => store.endRun(run, record.status, record.time));
        else if (record.kind === 'artifact')
          await write(ctx, `artifact ${record.path}`, () =>
            store.writeArtifact(run, record.path, join(ctx.spool.dir, record.file)),
          );
      }
      await ctx.commit(record.seq);
      i++;
    }
  }

  return {
    deliver,
    newRunId: () => randomBytes(16).toString('hex'),
    remote(key, state): RemoteRunRef {
      const run = (state as LocalState).runs?.[key];
      if (run === undefined || 'rejected' in run) return { trackingUri, runId: undefined };
      return { trackingUri, runId: key, experimentId: run.experimentId };
    },
  };
}

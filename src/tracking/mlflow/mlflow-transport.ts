import { randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { chunkLogBatch } from './mlflow-batch.js';
import type { SpoolRecord } from '../records.js';
import { ModelshipError } from '../../errors/index.js';
import type { RemoteRunRef } from '../../spec/tracking.js';
import type { MlflowClient } from '../../clients/mlflow/mlflow-client.js';
import type { TrackerHttp } from '../http.js';
import type { DeliveryContext } from '../spool/flusher.js';
import type { TrackerTransport } from '../spool/spooled-tracker.js';
import { mlflowSystemTags } from '../system-tags.js';

/** The tag holding the spool's run key, so a replay finds the run it already created instead of making another. */
export const RUN_KEY_TAG = 'modelship.run_key';

type RunState = { runId: string; experimentId: string; artifactUri: string } | { rejected: string };
interface MlflowState {
  experiments?: Record<string, string>;
  runs?: Record<string, RunState>;
}

interface CreatedRun {
  run: { info: { run_id: string; experiment_id: string; artifact_uri: string } };
}

const isRejected = (error: unknown): error is ModelshipError => ModelshipError.hasCode(error, 'TRACKING_REJECTED');
const serverCode = (error: ModelshipError): unknown => error.details?.serverCode;

/** `mlflow-artifacts:/1/abc/artifacts` (or with an authority) → the proxy URL of `artifactPath` in it. */
function artifactUrl(base: string, artifactUri: string, artifactPath: string): string {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?(\/.*)$/.exec(artifactUri);
  if (match === null) {
    throw new ModelshipError(
      'TRACKING_REJECTED',
      `The run's artifact location ${artifactUri} is not served by the tracking server's artifact proxy; start the server with --serve-artifacts (the default since MLflow 2.0) to log artifacts through it.`,
      { details: { artifactUri } },
    );
  }
  const path = `${(match[1] as string).replace(/\/+$/, '')}/${artifactPath}`;
  return `${base}/api/2.0/mlflow-artifacts/artifacts${path.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Delivers spooled records to an MLflow tracking server over REST 2.0: `experiments/get-by-name` and
 * `experiments/create`, `runs/search` (finding a run created before a crash) and `runs/create`,
 * `runs/log-batch` chunked to the server's limits, `runs/update`, and artifacts through the artifact proxy. Calls go
 * through the MLflow client the registry uses too, sent once each (the flusher retries).
 */
export function createMlflowTransport(
  mlflow: Pick<MlflowClient, 'trackingUri' | 'apiUrl'>,
  http: TrackerHttp,
): TrackerTransport {
  const base = mlflow.trackingUri;
  const api = mlflow.apiUrl('').replace(/\/$/, '');

  async function experimentId(name: string, state: MlflowState, signal: AbortSignal): Promise<string> {
    const known = state.experiments?.[name];
    if (known !== undefined) return known;
    const find = async (): Promise<string | undefined> => {
      try {
        const found = await http.request<{ experiment: { experiment_id: string } }>(
          {
            method: 'GET',
            url: `${api}/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`,
            what: `looking up experiment ${JSON.stringify(name)}`,
          },
          signal,
        );
        return found.experiment.experiment_id;
      } catch (error) {
        if (isRejected(error) && serverCode(error) === 'RESOURCE_DOES_NOT_EXIST') return undefined;
        throw error;
      }
    };
    let id = await find();
    if (id === undefined) {
      try {
        id = (
          await http.request<{ experiment_id: string }>(
            {
              method: 'POST',
              url: `${api}/experiments/create`,
              json: { name },
              what: `creating experiment ${JSON.stringify(name)}`,
            },
            signal,
          )
        ).experiment_id;
      } catch (error) {
        // Another client created it between our lookup and our create.
        if (!(isRejected(error) && serverCode(error) === 'RESOURCE_ALREADY_EXISTS')) throw error;
        id = await find();
        if (id === undefined) throw error;
      }
    }
    state.experiments = { ...state.experiments, [name]: id };
    return id;
  }

  async function startRun(
    record: Extract<SpoolRecord, { kind: 'start' }>,
    state: MlflowState,
    signal: AbortSignal,
  ): Promise<RunState> {
    const experiment = await experimentId(record.experiment, state, signal);
    const search = await http.request<{ runs?: CreatedRun['run'][] }>(
      {
        method: 'POST',
        url: `${api}/runs/search`,
        json: { experiment_ids: [experiment], filter: `tags.\`${RUN_KEY_TAG}\` = '${record.run}'`, max_results: 1 },
        what: `looking for run ${record.run}`,
      },
      signal,
    );
    let info = search.runs?.[0]?.info;
    if (info === undefined) {
      const tags: Record<string, string> = { ...mlflowSystemTags(), ...record.tags, [RUN_KEY_TAG]: record.run };
      const created = await http.request<CreatedRun>(
        {
          method: 'POST',
          url: `${api}/runs/create`,
          json: {
            experiment_id: experiment,
            run_name: record.name,
            start_time: record.time,
            tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
            ...(tags['mlflow.user'] === undefined ? {} : { user_id: tags['mlflow.user'] }),
          },
          what: `creating run ${JSON.stringify(record.name)} in experiment ${JSON.stringify(record.experiment)}`,
        },
        signal,
      );
      info = created.run.info;
    }
    return { runId: info.run_id, experimentId: info.experiment_id, artifactUri: info.artifact_uri };
  }

  async function deliver(records: readonly SpoolRecord[], ctx: DeliveryContext): Promise<void> {
    const state = ctx.state as MlflowState;
    const runs = (): Record<string, RunState> => (state.runs ??= {});
    let i = 0;
    while (i < records.length) {
      const record = records[i] as SpoolRecord;
      if (record.kind === 'start') {
        await ctx
          .attempt(async () => {
            runs()[record.run] = await startRun(record, state, ctx.signal);
          })
          .then((ok) => {
            if (!ok) runs()[record.run] = { rejected: 'the server refused to create the run' };
          });
        await ctx.commit(record.seq);
        i++;
        continue;
      }
      const run = runs()[record.run];
      if (run === undefined || 'rejected' in run) {
        // Records of a run the server refused are dropped with it (reported once, when the run was refused).
        i++;
        continue;
      }
      if (record.kind === 'end') {
        await ctx.attempt(() =>
          http.request(
            {
              method: 'POST',
              url: `${api}/runs/update`,
              json: { run_id: run.runId, status: record.status, end_time: record.time },
              what: `ending run ${run.runId}`,
            },
            ctx.signal,
          ),
        );
        await ctx.commit(record.seq);
        i++;
      } else if (record.kind === 'artifact') {
        await ctx.attempt(async () =>
          http.request(
            {
              method: 'PUT',
              url: artifactUrl(base, run.artifactUri, record.path),
              headers: { 'content-type': 'application/octet-stream' },
              body: await openAsBlob(join(ctx.spool.dir, record.file)),
              what: `uploading artifact ${record.path} of run ${run.runId}`,
            },
            ctx.signal,
          ),
        );
        await ctx.commit(record.seq);
        i++;
      } else {
        let j = i;
        while (
          j < records.length &&
          (records[j] as SpoolRecord).run === record.run &&
          ['metrics', 'params', 'tags'].includes((records[j] as SpoolRecord).kind)
        )
          j++;
        for (const batch of chunkLogBatch(run.runId, records.slice(i, j))) {
          await ctx.attempt(() =>
            http.request(
              {
                method: 'POST',
                url: `${api}/runs/log-batch`,
                json: batch.body,
                what: `logging a batch to run ${run.runId}`,
              },
              ctx.signal,
            ),
          );
          if (batch.completesSeq !== undefined) await ctx.commit(batch.completesSeq);
        }
        i = j;
      }
    }
  }

  return {
    deliver,
    newRunId: () => randomBytes(16).toString('hex'),
    remote(key, state): RemoteRunRef {
      const run = (state as MlflowState).runs?.[key];
      if (run === undefined || 'rejected' in run) return { trackingUri: base, runId: undefined };
      return {
        trackingUri: base,
        runId: run.runId,
        experimentId: run.experimentId,
        url: `${base}/#/experiments/${run.experimentId}/runs/${run.runId}`,
      };
    },
  };
}

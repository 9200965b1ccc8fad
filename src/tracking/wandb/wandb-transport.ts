import { randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import type { SpoolRecord } from '../records.js';
import { ModelshipError } from '../../errors/index.js';
import type { RemoteRunRef } from '../../spec/tracking.js';
import type { WandbClient } from '../../clients/wandb/wandb-client.js';
import type { TrackerHttp } from '../http.js';
import type { DeliveryContext } from '../spool/flusher.js';
import type { TrackerTransport } from '../spool/spooled-tracker.js';

/** Where runs go: the entity/project they belong to (the server is the client's). */
export interface WandbTarget {
  readonly entity: string;
  readonly project: string;
}

interface RunState {
  /** The experiment, sent as the run's W&B group. */
  group: string;
  displayName: string;
  /** Start time, ms: `_runtime` is measured from it. */
  startTime: number;
  /** Next line number of `wandb-history.jsonl`: file-stream offsets make a resend overwrite, not duplicate. */
  historyOffset: number;
  config: Record<string, string>;
  tags: Record<string, string>;
  summary: Record<string, number>;
  rejected?: true;
}

interface WandbState {
  runs?: Record<string, RunState>;
}

const UPSERT_BUCKET = `mutation UpsertBucket($name: String, $project: String, $entity: String, $groupName: String, $displayName: String, $config: JSONString, $tags: [String!]) {
  upsertBucket(input: { name: $name, modelName: $project, entityName: $entity, groupName: $groupName, displayName: $displayName, config: $config, tags: $tags }) {
    bucket { id name displayName project { name entity { name } } }
    inserted
  }
}`;

const RUN_UPLOAD_URLS = `query RunUploadUrls($name: String!, $files: [String]!, $entity: String, $run: String!) {
  model(name: $name, entityName: $entity) {
    bucket(name: $run) { id files(names: $files) { uploadHeaders edges { node { name url(upload: true) } } } }
  }
}`;

// W&B's own clients push at most 10 000 lines per request; the size cap keeps requests well under proxies' limits.
const MAX_LINES = 10_000;
const MAX_BYTES = 4 * 1024 * 1024;

/** JSON as W&B's clients write it: NaN and ±Infinity as bare tokens, which its backend accepts. */
export function wandbJson(value: Record<string, unknown>): string {
  const marks: Record<string, string> = {};
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'number' || Number.isFinite(v)) return v;
    const mark = `\u0000${String(v)}\u0000`;
    marks[JSON.stringify(mark)] = String(v);
    return mark;
  });
  return Object.entries(marks).reduce((t, [mark, token]) => t.split(mark).join(token), text);
}

/** MLflow-style key/value tags as W&B's string tags: `key:value`, or just `key` for an empty value. */
const tagList = (tags: Record<string, string>): string[] =>
  Object.entries(tags).map(([k, v]) => (v === '' ? k : `${k}:${v}`));

/** W&B's config shape: every key wrapped as `{ value, desc }`. */
const configJson = (config: Record<string, string>): string =>
  JSON.stringify(
    Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value: numeric(value), desc: null }])),
  );

// Params arrive as strings; numbers go back to numbers so W&B can plot and compare them.
function numeric(value: string): string | number | boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) ? n : value;
}

const EXIT_CODES = { FINISHED: 0, FAILED: 1, KILLED: 130 } as const;

/**
 * Delivers spooled records to Weights & Biases: the run is created and updated (config, tags, name) with the
 * GraphQL `upsertBucket` mutation; metrics go to the run's file stream as `wandb-history.jsonl` lines (with
 * `_step`, `_runtime`, `_timestamp`) at increasing offsets, with `wandb-summary.json`; finishing sends
 * `complete: true` and the exit code; artifacts are uploaded as run files through `RunUploadUrls`. Calls go through
 * the W&B client the registry uses too, sent once each (the flusher retries; W&B's `errors[]` are TRACKING_REJECTED).
 */
export function createWandbTransport(
  wandb: Pick<WandbClient, 'baseUrl' | 'graphqlUrl' | 'fileStreamUrl'>,
  target: WandbTarget,
  http: TrackerHttp,
): TrackerTransport {
  const { baseUrl } = wandb;
  const { entity, project } = target;
  const stream = (run: string): string => wandb.fileStreamUrl(entity, project, run);

  async function graphql<T>(
    query: string,
    variables: Record<string, unknown>,
    what: string,
    signal: AbortSignal,
  ): Promise<T> {
    const result = await http.request<{ data?: T; errors?: { message: string }[] }>(
      { method: 'POST', url: wandb.graphqlUrl, json: { query, variables }, what },
      signal,
    );
    if (result.errors !== undefined && result.errors.length > 0) {
      throw new ModelshipError(
        'TRACKING_REJECTED',
        `W&B refused ${what}: ${result.errors.map((e) => e.message).join('; ')}`,
        { details: { errors: result.errors } },
      );
    }
    return result.data as T;
  }

  const upsert = (run: string, state: RunState, signal: AbortSignal): Promise<unknown> =>
    graphql(
      UPSERT_BUCKET,
      {
        name: run,
        project,
        entity,
        groupName: state.group,
        displayName: state.displayName,
        config: configJson(state.config),
        tags: tagList(state.tags),
      },
      `creating or updating run ${run}`,
      signal,
    );

  async function sendHistory(
    run: string,
    state: RunState,
    records: Extract<SpoolRecord, { kind: 'metrics' }>[],
    ctx: DeliveryContext,
  ): Promise<void> {
    let i = 0;
    while (i < records.length) {
      const lines: string[] = [];
      const summary = { ...state.summary };
      let bytes = 0;
      let last = 0;
      while (i < records.length && lines.length < MAX_LINES && (bytes < MAX_BYTES || lines.length === 0)) {
        const record = records[i] as Extract<SpoolRecord, { kind: 'metrics' }>;
        const line = wandbJson({
          ...record.metrics,
          _step: record.step,
          _runtime: (record.time - state.startTime) / 1000,
          _timestamp: record.time / 1000,
        });
        lines.push(line);
        bytes += line.length;
        Object.assign(summary, record.metrics);
        last = record.seq;
        i++;
      }
      await http.request(
        {
          method: 'POST',
          url: stream(run),
          json: {
            files: {
              'wandb-history.jsonl': { offset: state.historyOffset, content: lines },
              'wandb-summary.json': { offset: 0, content: [wandbJson(summary)] },
            },
          },
          what: `streaming history of run ${run}`,
        },
        ctx.signal,
      );
      state.historyOffset += lines.length;
      state.summary = summary;
      await ctx.commit(last);
    }
  }

  async function uploadFile(
    run: string,
    record: Extract<SpoolRecord, { kind: 'artifact' }>,
    ctx: DeliveryContext,
  ): Promise<void> {
    type Urls = {
      model?: { bucket?: { files?: { uploadHeaders?: string[]; edges: { node: { name: string; url: string } }[] } } };
    };
    const data = await graphql<Urls>(
      RUN_UPLOAD_URLS,
      { name: project, entity, run, files: [record.path] },
      `requesting an upload URL for ${record.path}`,
      ctx.signal,
    );
    const files = data.model?.bucket?.files;
    const url = files?.edges.find((e) => e.node.name === record.path)?.node.url;
    if (url === undefined)
      throw new ModelshipError('TRACKING_REJECTED', `W&B gave no upload URL for ${record.path} of run ${run}.`);
    const headers = Object.fromEntries(
      (files?.uploadHeaders ?? []).map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1)]),
    );
    await http.request(
      {
        method: 'PUT',
        url,
        headers,
        body: await openAsBlob(join(ctx.spool.dir, record.file)),
        what: `uploading ${record.path} of run ${run}`,
      },
      ctx.signal,
    );
  }

  async function deliver(records: readonly SpoolRecord[], ctx: DeliveryContext): Promise<void> {
    const state = ctx.state as WandbState;
    const runs = (state.runs ??= {});
    let i = 0;
    while (i < records.length) {
      const record = records[i] as SpoolRecord;
      if (record.kind === 'start') {
        const run: RunState = {
          group: record.experiment,
          displayName: record.name,
          startTime: record.time,
          historyOffset: 0,
          config: {},
          tags: { ...record.tags },
          summary: {},
        };
        if (!(await ctx.attempt(() => upsert(record.run, run, ctx.signal)))) run.rejected = true;
        runs[record.run] = run;
        await ctx.commit(record.seq);
        i++;
        continue;
      }
      const run = runs[record.run];
      let j = i + 1;
      while (
        j < records.length &&
        (records[j] as SpoolRecord).run === record.run &&
        (records[j] as SpoolRecord).kind === record.kind
      )
        j++;
      const group = records.slice(i, j);
      i = j;
      if (run === undefined || run.rejected === true) continue;
      if (record.kind === 'metrics') {
        await ctx.attempt(() =>
          sendHistory(record.run, run, group as Extract<SpoolRecord, { kind: 'metrics' }>[], ctx),
        );
      } else if (record.kind === 'params' || record.kind === 'tags') {
        const config = { ...run.config };
        const tags = { ...run.tags };
        for (const r of group) {
          if (r.kind === 'params') Object.assign(config, r.params);
          if (r.kind === 'tags') Object.assign(tags, r.tags);
        }
        if (await ctx.attempt(() => upsert(record.run, { ...run, config, tags }, ctx.signal)))
          Object.assign(run, { config, tags });
      } else if (record.kind === 'artifact') {
        for (const r of group)
          await ctx.attempt(() => uploadFile(record.run, r as Extract<SpoolRecord, { kind: 'artifact' }>, ctx));
      } else if (record.kind === 'end') {
        const exitcode = EXIT_CODES[record.status];
        await ctx.attempt(() =>
          http.request(
            {
              method: 'POST',
              url: stream(record.run),
              json: { complete: true, exitcode },
              what: `finishing run ${record.run}`,
            },
            ctx.signal,
          ),
        );
      }
      const last = (group.at(-1) as SpoolRecord).seq;
      if (ctx.spool.ackedSeq < last) await ctx.commit(last);
    }
  }

  const appUrl = baseUrl.replace('://api.', '://');
  return {
    deliver,
    // W&B run ids are chosen by the client: 8 characters of [a-z0-9], like its SDKs make.
    newRunId: () => Array.from(randomBytes(8), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join(''),
    remote(key, state): RemoteRunRef {
      const rejected = (state as WandbState).runs?.[key]?.rejected === true;
      return {
        trackingUri: `${baseUrl}/${entity}/${project}`,
        runId: rejected ? undefined : key,
        url: `${appUrl}/${entity}/${project}/runs/${key}`,
      };
    },
  };
}

import type * as SM from '@aws-sdk/client-sagemaker';
import { createHash, randomUUID } from 'node:crypto';
import { backoffDelay } from '../../core/backoff.js';
import { awsError, isAwsNotFound, type AwsCall } from '../../clients/aws/aws-call.js';
import type { SageMakerModule } from '../../clients/aws/sagemaker-sdk.js';
import { ModelshipError } from '../../errors/index.js';
import type { SharedStateEntry, SharedStateStore, SharedStateWrite } from '../../spec/shared-state.js';

/** Tag keys on the state group: the etag, how many chunks, and the chunks `modelship.fleet.0` … */
export const SAGEMAKER_SHARED_STATE_TAGS = { etag: 'modelship.fleet.etag', chunks: 'modelship.fleet.chunks' };
const CHUNK = 'modelship.fleet.';
/** A tag value holds 256 characters; a resource holds 50 tags (AddTags), two of them ours besides the chunks. */
const CHUNK_CHARS = 256;
const MAX_CHUNKS = 46;
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** How long a lock may stay unchanged before a contender removes it (a holder that crashed mid-write). */
const LOCK_STALE_MS = 30_000;

type Client = () => Promise<{ sdk: SageMakerModule; client: SM.SageMakerClient }>;

/**
 * The model package groups for `key`: group names allow only letters, digits and "-" (63 at most), so a
 * deployment name is named by its sha256 prefix.
 */
export function sagemakerSharedStateGroups(key: string): { state: string; lock: string } {
  const id = createHash('sha256').update(key).digest('hex').slice(0, 40);
  return { state: `modelship-fleet-${id}`, lock: `modelship-fleet-lock-${id}` };
}

function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      'A shared-state key is a deployment name: letters, digits, ".", "_" or "-" (at most 128).',
    );
  }
}

const exists = (error: unknown): boolean => /already exists/i.test((error as Error | undefined)?.message ?? '');

/**
 * Shared documents in SageMaker's Model Registry, which has no conditional update (AddTags overwrites; a group's
 * description cannot change): the document is base64 in the tags of a model package group (tag values are 256
 * characters of letters, digits and `_.:/=+-@`, so JSON is chunked), written under a lock that is itself a group:
 * `CreateModelPackageGroup` refuses a name that exists, like `mkdir` for a lock file. The holder deletes it after
 * writing; a lock seen unchanged (same creation time) for 30 s of this replica's clock is removed as left by a
 * crashed holder.
 */
export function createSageMakerSharedState(sm: Client, call: AwsCall): SharedStateStore {
  async function describe(name: string, signal?: AbortSignal): Promise<SM.DescribeModelPackageGroupOutput | undefined> {
    const { sdk, client } = await sm();
    try {
      return await call(
        'reading the fleet state',
        (abortSignal) =>
          client.send(new sdk.DescribeModelPackageGroupCommand({ ModelPackageGroupName: name }), { abortSignal }),
        { signal },
      );
    } catch (error) {
      if (isAwsNotFound(error)) return undefined;
      throw unavailable(error);
    }
  }

  async function read(key: string, signal?: AbortSignal): Promise<SharedStateEntry | undefined> {
    assertKey(key);
    const group = await describe(sagemakerSharedStateGroups(key).state, signal);
    if (group?.ModelPackageGroupArn === undefined) return undefined;
    const { sdk, client } = await sm();
    const tags = new Map<string, string>();
    let next: string | undefined;
    do {
      const page: SM.ListTagsOutput = await call(
        'reading the fleet state',
        (abortSignal) =>
          client.send(
            new sdk.ListTagsCommand({
              ResourceArn: group.ModelPackageGroupArn,
              MaxResults: 50,
              ...(next ? { NextToken: next } : {}),
            }),
            {
              abortSignal,
            },
          ),
        { signal },
      ).catch((error: unknown) => {
        throw unavailable(error);
      });
      for (const t of page.Tags ?? []) if (t.Key !== undefined) tags.set(t.Key, t.Value ?? '');
      next = page.NextToken || undefined;
    } while (next !== undefined);
    const etag = tags.get(SAGEMAKER_SHARED_STATE_TAGS.etag);
    if (etag === undefined) return undefined; // created, never written (a holder that crashed in between)
    const count = Number(tags.get(SAGEMAKER_SHARED_STATE_TAGS.chunks));
    const chunks =
      Number.isInteger(count) && count > 0 && count <= MAX_CHUNKS
        ? Array.from({ length: count }, (_, i) => tags.get(`${CHUNK}${i}`))
        : [undefined];
    if (chunks.some((c) => c === undefined)) {
      throw new ModelshipError(
        'FLEET_STATE_INVALID',
        `The tags of SageMaker model package group ${sagemakerSharedStateGroups(key).state} are not ones modelship wrote. Delete the group; the next replica to start writes it again.`,
      );
    }
    return { etag, document: Buffer.from(chunks.join(''), 'base64').toString('utf8') };
  }

  async function lock(name: string): Promise<void> {
    const { sdk, client } = await sm();
    let seen: { created: string; since: number } | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        await call(
          'taking the fleet lock',
          (abortSignal) =>
            client.send(
              new sdk.CreateModelPackageGroupCommand({
                ModelPackageGroupName: name,
                ModelPackageGroupDescription: 'modelship fleet write lock',
              }),
              { abortSignal },
            ),
          { idempotent: false },
        );
        return;
      } catch (error) {
        if (!exists(error) && !exists((error as { cause?: unknown }).cause)) throw unavailable(error);
      }
      const held = await describe(name);
      if (held !== undefined) {
        const created = String(held.CreationTime?.valueOf() ?? '');
        if (seen?.created !== created) seen = { created, since: Date.now() };
        else if (Date.now() - seen.since >= LOCK_STALE_MS) {
          await release(name);
          seen = undefined;
          continue;
        }
      }
      await new Promise((resolve) =>
        setTimeout(resolve, backoffDelay(Math.min(attempt, 6), { baseMs: 10, maxMs: 500 })),
      );
    }
  }

  async function release(name: string): Promise<void> {
    const { sdk, client } = await sm();
    // Sent once: a retry landing after another replica took the lock would remove that replica's lock.
    await call(
      'releasing the fleet lock',
      (abortSignal) =>
        client.send(new sdk.DeleteModelPackageGroupCommand({ ModelPackageGroupName: name }), { abortSignal }),
      { idempotent: false },
    ).catch(() => undefined);
  }

  async function write(key: string, document: string, ifMatch: string | null): Promise<SharedStateWrite> {
    assertKey(key);
    const encoded = typeof document === 'string' ? Buffer.from(document, 'utf8').toString('base64') : '';
    if (typeof document !== 'string' || encoded.length === 0 || encoded.length > MAX_CHUNKS * CHUNK_CHARS) {
      throw new ModelshipError(
        'INVALID_ARGUMENT',
        `A shared-state document for SageMaker is non-empty JSON text of at most ${Math.floor((MAX_CHUNKS * CHUNK_CHARS * 3) / 4)} bytes (the tags of one model package group).`,
      );
    }
    const { state, lock: lockName } = sagemakerSharedStateGroups(key);
    const { sdk, client } = await sm();
    await lock(lockName);
    try {
      const current = await read(key).catch((error: unknown) => {
        if (ModelshipError.isInstance(error) && error.code === 'FLEET_STATE_INVALID') return undefined;
        throw error;
      });
      if ((current?.etag ?? null) !== ifMatch) return { written: false, reason: 'conflict' };
      let arn = (await describe(state))?.ModelPackageGroupArn;
      if (arn === undefined) {
        const created = await call(
          'writing the fleet state',
          (abortSignal) =>
            client.send(
              new sdk.CreateModelPackageGroupCommand({
                ModelPackageGroupName: state,
                ModelPackageGroupDescription: 'modelship fleet state (deployment routing shared by its replicas)',
              }),
              { abortSignal },
            ),
          { idempotent: false },
        ).catch((error: unknown) => {
          throw unavailable(error);
        });
        arn = created.ModelPackageGroupArn;
      }
      const etag = randomUUID();
      const chunks = encoded.match(new RegExp(`.{1,${CHUNK_CHARS}}`, 'g'))!;
      const tags = [
        ...chunks.map((value, i) => ({ Key: `${CHUNK}${i}`, Value: value })),
        { Key: SAGEMAKER_SHARED_STATE_TAGS.chunks, Value: String(chunks.length) },
        { Key: SAGEMAKER_SHARED_STATE_TAGS.etag, Value: etag },
      ];
      // One AddTags call: the chunks, their count and the etag change together.
      await call(
        'writing the fleet state',
        (abortSignal) => client.send(new sdk.AddTagsCommand({ ResourceArn: arn, Tags: tags }), { abortSignal }),
        {
          idempotent: true,
        },
      ).catch((error: unknown) => {
        throw unavailable(error);
      });
      return { written: true, etag };
    } finally {
      await release(lockName);
    }
  }

  return {
    read: (key, options) => read(key, options?.signal),
    write: (key, document, ifMatch) => write(key, document, ifMatch),
  };
}

function unavailable(error: unknown): Error {
  if (ModelshipError.isInstance(error)) return error;
  return awsError(error, 'the fleet state');
}

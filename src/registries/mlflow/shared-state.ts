import { randomUUID } from 'node:crypto';
import { backoffDelay } from '../../core/backoff.js';
import { MlflowApiError, type MlflowRest } from '../../clients/mlflow/rest.js';
import { ModelshipError } from '../../errors/index.js';
import type { SharedStateEntry, SharedStateStore, SharedStateWrite } from '../../spec/shared-state.js';

/** The registered-model tag holding `{ etag, document }` (MLflow keeps tag values up to 5,000 characters). */
export const MLFLOW_SHARED_STATE_TAG = 'modelship.fleet.state';
const MAX_TAG_VALUE = 5000;
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** How long a lock may stay unchanged before a contender removes it (a holder that crashed mid-write). */
const LOCK_STALE_MS = 30_000;

interface RegisteredModelJson {
  readonly registered_model?: {
    readonly creation_timestamp?: number | string;
    readonly tags?: readonly { readonly key?: string; readonly value?: string }[];
  };
}

/** The registered model holding `key`'s document, and the one whose existence is its write lock. */
export function mlflowSharedStateModels(key: string): { state: string; lock: string } {
  return { state: `${key}.modelship-fleet`, lock: `${key}.modelship-fleet.lock` };
}

function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      'A shared-state key is a deployment name: letters, digits, ".", "_" or "-" (at most 128).',
    );
  }
}

const isCode = (error: unknown, code: string): boolean => error instanceof MlflowApiError && error.errorCode === code;

/**
 * Shared documents in MLflow 2.x's Model Registry, which has no conditional update: the document is a tag of a
 * registered model `<key>.modelship-fleet`, and writes compare and set under a lock that is itself a registered
 * model, `<key>.modelship-fleet.lock`: `registered-models/create` is atomic (the name is unique; a second create
 * answers RESOURCE_ALREADY_EXISTS), like `mkdir` for a lock file. The holder deletes it after writing; a lock
 * seen unchanged (same creation time) for 30 s of this replica's clock is taken as left by a crashed holder and
 * removed, so clocks of the server and the replicas need not agree.
 */
export function createMlflowSharedState(rest: MlflowRest): SharedStateStore {
  async function read(key: string, signal?: AbortSignal): Promise<SharedStateEntry | undefined> {
    assertKey(key);
    let res: RegisteredModelJson;
    try {
      res = await rest<RegisteredModelJson>({
        method: 'GET',
        path: 'registered-models/get',
        query: { name: mlflowSharedStateModels(key).state },
        idempotent: true,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (isCode(error, 'RESOURCE_DOES_NOT_EXIST')) return undefined;
      throw unavailable(key, error);
    }
    const value = res.registered_model?.tags?.find((t) => t.key === MLFLOW_SHARED_STATE_TAG)?.value;
    if (value === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
    const { etag, document } = (parsed ?? {}) as Record<string, unknown>;
    if (typeof etag !== 'string' || typeof document !== 'string') {
      throw new ModelshipError(
        'FLEET_STATE_INVALID',
        `The tag ${MLFLOW_SHARED_STATE_TAG} of registered model ${mlflowSharedStateModels(key).state} is not one modelship wrote. Delete the tag; the next replica to start writes it again.`,
      );
    }
    return { etag, document };
  }

  /** Takes the lock: creates the lock model, waiting (with backoff) while another replica holds it. */
  async function lock(key: string): Promise<void> {
    const { lock: name } = mlflowSharedStateModels(key);
    let seen: { created: string; since: number } | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        await rest({
          method: 'POST',
          path: 'registered-models/create',
          body: { name, description: 'modelship fleet write lock' },
        });
        return;
      } catch (error) {
        if (!isCode(error, 'RESOURCE_ALREADY_EXISTS')) throw unavailable(key, error);
      }
      const held = await rest<RegisteredModelJson>({
        method: 'GET',
        path: 'registered-models/get',
        query: { name },
        idempotent: true,
      }).catch((error: unknown) => {
        if (isCode(error, 'RESOURCE_DOES_NOT_EXIST')) return undefined; // released meanwhile
        throw unavailable(key, error);
      });
      const created = String(held?.registered_model?.creation_timestamp ?? '');
      if (held !== undefined) {
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
    // Not retried: a retry landing after another replica took the lock would remove that replica's lock.
    await rest({ method: 'DELETE', path: 'registered-models/delete', body: { name } }).catch(() => undefined);
  }

  async function write(key: string, document: string, ifMatch: string | null): Promise<SharedStateWrite> {
    assertKey(key);
    const etag = randomUUID();
    const value = JSON.stringify({ etag, document });
    if (typeof document !== 'string' || value.length > MAX_TAG_VALUE) {
      throw new ModelshipError(
        'INVALID_ARGUMENT',
        `A shared-state document for MLflow is JSON text of at most ${MAX_TAG_VALUE - 60} characters (an MLflow tag value).`,
      );
    }
    const { state, lock: lockName } = mlflowSharedStateModels(key);
    await lock(key);
    try {
      const current = await read(key).catch((error: unknown) => {
        if (ModelshipError.isInstance(error) && error.code === 'FLEET_STATE_INVALID') return undefined;
        throw error;
      });
      if ((current?.etag ?? null) !== ifMatch) return { written: false, reason: 'conflict' };
      try {
        await rest({
          method: 'POST',
          path: 'registered-models/create',
          body: { name: state, description: 'modelship fleet state (deployment routing shared by its replicas)' },
        });
      } catch (error) {
        if (!isCode(error, 'RESOURCE_ALREADY_EXISTS')) throw unavailable(key, error);
      }
      await rest({
        method: 'POST',
        path: 'registered-models/set-tag',
        body: { name: state, key: MLFLOW_SHARED_STATE_TAG, value },
        idempotent: true,
      }).catch((error: unknown) => {
        throw unavailable(key, error);
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

function unavailable(key: string, error: unknown): Error {
  if (ModelshipError.isInstance(error)) return error;
  return new ModelshipError(
    'REGISTRY_UNAVAILABLE',
    `MLflow refused a call for the shared state of ${JSON.stringify(key)} (${error instanceof MlflowApiError ? (error.errorCode ?? error.status) : 'error'}); retry.`,
    { cause: error },
  );
}

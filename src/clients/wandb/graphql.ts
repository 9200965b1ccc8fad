import { ModelshipError } from '../../errors/index.js';
import type { HttpClient } from '../../platform/node/http-client.js';
import { statusError, withRetryAfter } from '../../platform/node/http-errors.js';

/** One entry of a GraphQL `errors[]`. */
export interface GraphqlErrorEntry {
  readonly message?: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: { readonly code?: string };
}

/** The server answered with GraphQL `errors[]`; the caller maps it (not found, refused…). */
export class WandbGraphqlError extends Error {
  override readonly name = 'WandbGraphqlError';
  constructor(
    readonly status: number,
    readonly errors: readonly GraphqlErrorEntry[],
  ) {
    super(errors.map((e) => e.message ?? 'unknown error').join('; '));
  }
  /** Whether W&B said the object (project, artifact, collection) does not exist. */
  get notFound(): boolean {
    return this.errors.some(
      (e) => e.extensions?.code === 'NOT_FOUND' || /not found|could not find|does not exist/i.test(e.message ?? ''),
    );
  }
}

/** Sends one GraphQL operation; resolves `data`. */
export type WandbGraphql = <T>(
  query: string,
  variables: Record<string, unknown>,
  options?: { signal?: AbortSignal | undefined; mutation?: boolean },
) => Promise<T>;

/**
 * A GraphQL client for `${baseUrl}/graphql` on the one HTTP client. 401/403 and "not logged in"/permission
 * errors → REGISTRY_AUTH_FAILED, 5xx/429/network → REGISTRY_UNAVAILABLE (retried; mutations only when the
 * connection was refused), other `errors[]` → {@link WandbGraphqlError} for the caller to map.
 */
export function createWandbGraphql(baseUrl: string, http: HttpClient): WandbGraphql {
  const url = `${baseUrl.replace(/\/+$/, '')}/graphql`;
  return async <T>(
    query: string,
    variables: Record<string, unknown>,
    options: { signal?: AbortSignal | undefined; mutation?: boolean } = {},
  ): Promise<T> => {
    const operation = /(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? 'operation';
    const what = `calling W&B ${operation}`;
    const body = JSON.stringify({ query, variables, operationName: operation });
    const headers = { accept: 'application/json', 'content-type': 'application/json' };
    return http.send(
      { method: 'POST', url, headers, body, what, signal: options.signal, idempotent: options.mutation !== true },
      (res): T => {
        let parsed: { data?: T; errors?: GraphqlErrorEntry[] } | undefined;
        try {
          parsed = JSON.parse(res.text) as { data?: T; errors?: GraphqlErrorEntry[] };
        } catch {
          parsed = undefined;
        }
        const detail = parsed?.errors?.map((e) => e.message).join('; ') ?? '';
        if (res.status === 401 || res.status === 403 || res.status === 408 || res.status === 429 || res.status >= 500) {
          const error = statusError(res.status, what, 'MODEL_NOT_FOUND', detail);
          const authHint =
            error.code === 'REGISTRY_AUTH_FAILED'
              ? new ModelshipError(
                  'REGISTRY_AUTH_FAILED',
                  `W&B refused the API key (HTTP ${res.status}) while ${what}${detail === '' ? '' : `: ${detail}`}. Check apiKey or WANDB_API_KEY.`,
                  { details: { status: res.status } },
                )
              : error;
          throw withRetryAfter(authHint, res.retryAfterMs);
        }
        if (parsed === undefined)
          throw new ModelshipError(
            'REGISTRY_UNAVAILABLE',
            `W&B sent a response that is not JSON (HTTP ${res.status}) while ${what}; is it a W&B server?`,
            { retryable: false },
          );
        if (parsed.errors !== undefined && parsed.errors.length > 0) {
          if (
            parsed.errors.some(
              (e) =>
                /not logged in|unauthori[sz]ed|permission denied|not authorized/i.test(e.message ?? '') ||
                e.extensions?.code === 'PERMISSION_ERROR',
            )
          ) {
            throw new ModelshipError(
              'REGISTRY_AUTH_FAILED',
              `W&B refused the request while ${what}: ${detail}. Check apiKey or WANDB_API_KEY and the entity's permissions.`,
            );
          }
          throw new WandbGraphqlError(res.status, parsed.errors);
        }
        if (res.status < 200 || res.status >= 300 || parsed.data === undefined) {
          throw new ModelshipError('REGISTRY_UNAVAILABLE', `Unexpected HTTP ${res.status} while ${what}.`, {
            retryable: false,
            details: { status: res.status },
          });
        }
        return parsed.data;
      },
    );
  };
}

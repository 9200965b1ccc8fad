import { ModelshipError } from '../../errors/index.js';
import type { HttpClient, HttpClientConfig, HttpReply } from '../../platform/node/http-client.js';
import { statusError, withRetryAfter } from '../../platform/node/http-errors.js';
import { sendJsonCall, type JsonCall } from '../../platform/node/json-call.js';
import type { GcpAuth } from './gcp-auth.js';

/** A Google API answered with its own error (`{"error":{"code","message","status"}}`); the caller maps it. */
export class GoogleApiError extends Error {
  override readonly name = 'GoogleApiError';
  constructor(
    readonly status: number,
    /** The google.rpc code name (`NOT_FOUND`, `INVALID_ARGUMENT`…) or GCS's `reason`. */
    readonly rpcStatus: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** One call to a Google JSON API. */
export type GoogleCall = JsonCall;

/**
 * Sends Google JSON API calls with ADC credentials on the one HTTP client. `config` is that client's retry budget and
 * timeout, which the Cloud Storage SDK client (gcs.ts) applies to its own transport.
 */
export type GoogleRest = (<T>(call: GoogleCall) => Promise<T>) & { readonly config: HttpClientConfig };

function parseError(reply: HttpReply): { message: string; status?: string } {
  try {
    const e = (
      JSON.parse(reply.text) as { error?: { message?: string; status?: string; errors?: { reason?: string }[] } }
    ).error;
    return {
      message: e?.message ?? `HTTP ${reply.status}`,
      ...((e?.status ?? e?.errors?.[0]?.reason) ? { status: e?.status ?? e?.errors?.[0]?.reason } : {}),
    };
  } catch {
    return { message: `HTTP ${reply.status}` };
  }
}

/**
 * A Google REST client: 401/403 → REGISTRY_AUTH_FAILED (naming what to check, never the token), 408/429/5xx →
 * REGISTRY_UNAVAILABLE (retried with backoff, `Retry-After` honoured), other error answers → {@link GoogleApiError}.
 */
export function createGoogleRest(http: HttpClient, auth: GcpAuth, service: string): GoogleRest {
  const rest = async <T>(call: GoogleCall): Promise<T> => {
    const authorization = await auth.authorization(call.signal);
    return sendJsonCall<T>(http, call, authorization, service, (reply, what): never => {
      const parsed = parseError(reply);
      if (reply.status === 401 || reply.status === 403) {
        throw new ModelshipError(
          'REGISTRY_AUTH_FAILED',
          `${service} refused the credentials (HTTP ${reply.status} ${parsed.status ?? ''}) while ${call.what}: ${parsed.message} Check the service account's roles (roles/aiplatform.user, roles/storage.objectViewer) and GOOGLE_APPLICATION_CREDENTIALS.`,
          { details: { status: reply.status } },
        );
      }
      if (reply.status === 408 || reply.status === 429 || reply.status >= 500)
        throw withRetryAfter(statusError(reply.status, what, 'MODEL_NOT_FOUND', parsed.message), reply.retryAfterMs);
      throw new GoogleApiError(reply.status, parsed.status, parsed.message);
    });
  };
  return Object.assign(rest, { config: http.config });
}

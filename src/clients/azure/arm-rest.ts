import { ModelshipError } from '../../errors/index.js';
import type { HttpClient, HttpReply } from '../../platform/node/http-client.js';
import { statusError, withRetryAfter } from '../../platform/node/http-errors.js';
import { sendJsonCall, type JsonCall } from '../../platform/node/json-call.js';
import type { AzureAuth } from './azure-auth.js';

/** ARM answered with its own error (`{"error":{"code","message"}}`); the caller maps it (404s mostly). */
export class ArmApiError extends Error {
  override readonly name = 'ArmApiError';
  constructor(
    readonly status: number,
    /** ARM's error code (`ResourceNotFound`, `UserError`, `BadRequest`…), with an inner code when there is one. */
    readonly armCode: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** One ARM call. */
export type ArmCall = JsonCall;

/** Sends ARM calls with a bearer token on the one HTTP client. */
export type ArmRest = <T>(call: ArmCall) => Promise<T>;

function parseError(reply: HttpReply): { message: string; code?: string } {
  try {
    const e = (
      JSON.parse(reply.text) as { error?: { code?: string; message?: string; innerError?: { code?: string } } }
    ).error;
    const code = [e?.code, e?.innerError?.code].filter(Boolean).join('/');
    return { message: e?.message ?? `HTTP ${reply.status}`, ...(code === '' ? {} : { code }) };
  } catch {
    return { message: `HTTP ${reply.status}` };
  }
}

export const isArmNotFound = (e: unknown): boolean => e instanceof ArmApiError && e.status === 404;

/**
 * An ARM REST client: 401/403 → REGISTRY_AUTH_FAILED (naming the role to check, never the token), 408/429/5xx →
 * REGISTRY_UNAVAILABLE (retried with backoff, `Retry-After` honoured), other error answers → {@link ArmApiError}.
 */
export function createArmRest(http: HttpClient, auth: AzureAuth, scope: string, service: string): ArmRest {
  return async <T>(call: ArmCall): Promise<T> => {
    const authorization = await auth.authorization(scope, call.signal);
    return sendJsonCall<T>(http, call, authorization, service, (reply, what): never => {
      const parsed = parseError(reply);
      if (reply.status === 401 || reply.status === 403)
        throw new ModelshipError(
          'REGISTRY_AUTH_FAILED',
          `${service} refused the credentials (HTTP ${reply.status} ${parsed.code ?? ''}) while ${call.what}. Check that the identity has the AzureML Data Scientist role (or Reader for reads) on the workspace or registry, and its AZURE_* settings.`,
          { details: { status: reply.status } },
        );
      if (reply.status === 408 || reply.status === 429 || reply.status >= 500)
        throw withRetryAfter(statusError(reply.status, what, 'MODEL_NOT_FOUND', parsed.message), reply.retryAfterMs);
      throw new ArmApiError(reply.status, parsed.code, parsed.message);
    });
  };
}

import { ModelshipError } from '../../errors/index.js';
import type { AzureTokenCredential } from './azure-settings.js';

/** Gives the `Authorization` header for one Azure audience, from a token credential. */
export interface AzureAuth {
  readonly credential: AzureTokenCredential;
  authorization(scope: string, signal?: AbortSignal): Promise<string>;
}

async function defaultCredential(): Promise<AzureTokenCredential> {
  let identity: { DefaultAzureCredential: new () => AzureTokenCredential };
  try {
    // A computed specifier keeps browser bundlers from resolving this Node-side optional peer.
    const specifier = '@azure/identity';
    identity = (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as typeof identity;
  } catch (cause) {
    throw new ModelshipError(
      'DEPENDENCY_MISSING',
      'Azure access needs the optional peer dependency @azure/identity (or pass { credential }): npm install @azure/identity',
      { cause },
    );
  }
  return new identity.DefaultAzureCredential();
}

function authError(cause: unknown): ModelshipError {
  if (ModelshipError.isInstance(cause)) return cause;
  const name = (cause as { name?: unknown } | null)?.name;
  // @azure/identity names the "no credential worked" failures; anything else (a network error) is an outage.
  if (
    name === 'CredentialUnavailableError' ||
    name === 'AuthenticationError' ||
    name === 'AggregateAuthenticationError'
  )
    return new ModelshipError(
      'REGISTRY_AUTH_FAILED',
      'No Azure credential could get a token. Set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, use a managed or workload identity, or run `az login`.',
      { cause },
    );
  return new ModelshipError('REGISTRY_UNAVAILABLE', 'Could not get an Azure access token. Retry later.', {
    cause,
    retryable: true,
  });
}

/**
 * Bearer tokens per scope, from the given credential or `DefaultAzureCredential` (loaded on first use). Tokens are
 * reused until five minutes before they expire; they never appear in messages.
 */
export function createAzureAuth(credential?: AzureTokenCredential): AzureAuth {
  let cred: Promise<AzureTokenCredential> | undefined = credential ? Promise.resolve(credential) : undefined;
  // One credential for every client (ARM here, blob storage in the SDK): DefaultAzureCredential loaded once, lazily.
  const shared: AzureTokenCredential = {
    async getToken(scopes, options) {
      cred ??= defaultCredential();
      cred.catch(() => (cred = undefined));
      return (await cred).getToken(scopes, options);
    },
  };
  const tokens = new Map<string, { token: string; expires: number }>();
  return {
    credential: shared,
    async authorization(scope, signal) {
      const cached = tokens.get(scope);
      if (cached !== undefined && cached.expires - 300_000 > Date.now()) return `Bearer ${cached.token}`;
      let got: Awaited<ReturnType<AzureTokenCredential['getToken']>>;
      try {
        got = await shared.getToken(scope, signal === undefined ? {} : { abortSignal: signal });
      } catch (cause) {
        throw authError(cause);
      }
      if (got === null || typeof got.token !== 'string' || got.token === '')
        throw new ModelshipError('REGISTRY_AUTH_FAILED', `The Azure credential gave no token for ${scope}.`);
      tokens.set(scope, { token: got.token, expires: got.expiresOnTimestamp });
      return `Bearer ${got.token}`;
    },
  };
}

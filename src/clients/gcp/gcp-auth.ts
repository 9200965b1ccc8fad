import { ModelshipError } from '../../errors/index.js';
import type * as GoogleAuthLibrary from 'google-auth-library';
import type { GcpOptions } from './gcp-settings.js';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Gives the `Authorization` header for Google APIs, and the project the credentials belong to. */
export interface GcpAuth {
  authorization(signal?: AbortSignal): Promise<string>;
  /** The credentials' project id (service-account key `project_id`, gcloud config, metadata server), if known. */
  projectId(): Promise<string | undefined>;
}

type GoogleAuthModule = typeof GoogleAuthLibrary;

async function loadGoogleAuth(): Promise<GoogleAuthModule> {
  try {
    // Vertex endpoint versions reach this from the runtime-agnostic entry: a computed specifier keeps browser
    // bundlers from resolving this Node-side peer.
    const specifier = 'google-auth-library';
    return (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as GoogleAuthModule;
  } catch (cause) {
    throw new ModelshipError(
      'DEPENDENCY_MISSING',
      'Google Cloud access needs the optional peer dependency google-auth-library: npm install google-auth-library',
      { cause },
    );
  }
}

function authError(cause: unknown): ModelshipError {
  if (ModelshipError.isInstance(cause)) return cause;
  const status = (cause as { response?: { status?: number }; status?: number } | null)?.response?.status;
  const code = (cause as { code?: unknown } | null)?.code;
  // No response at all (refused, reset, DNS, timeout): the token service or metadata server is unreachable — an outage.
  if (status === undefined && typeof code === 'string' && /^E[A-Z]+|ETIMEDOUT|UND_ERR/.test(code)) {
    return new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      `Could not reach Google's token service or the metadata server (${code}). Retry later.`,
      { cause, retryable: true },
    );
  }
  if (status !== undefined && (status >= 500 || status === 429))
    return new ModelshipError('REGISTRY_UNAVAILABLE', `Google's token service answered HTTP ${status}. Retry later.`, {
      cause,
      retryable: true,
    });
  return new ModelshipError(
    'REGISTRY_AUTH_FAILED',
    'Could not get Google Cloud credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run `gcloud auth application-default login`, run on Google Cloud (metadata server), or pass { credentials } / { accessToken }.',
    { cause },
  );
}

/**
 * Application Default Credentials through google-auth-library (loaded on first use): `credentials`, `keyFilename`,
 * `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's ADC file, then the metadata server. Service-account keys sign their own
 * JWTs (as Google's client libraries do) so no token endpoint is called. Tokens never appear in messages.
 */
export function createGcpAuth(options: GcpOptions): GcpAuth {
  const token = options.accessToken;
  if (token !== undefined) {
    return {
      async authorization() {
        try {
          return `Bearer ${typeof token === 'string' ? token : await token()}`;
        } catch (cause) {
          throw authError(cause);
        }
      },
      projectId: () => Promise.resolve(undefined),
    };
  }
  let auth: Promise<InstanceType<GoogleAuthModule['GoogleAuth']>> | undefined;
  const get = (): Promise<InstanceType<GoogleAuthModule['GoogleAuth']>> => {
    auth ??= loadGoogleAuth().then((m) => {
      const a = new m.GoogleAuth({
        scopes: [SCOPE],
        ...(options.credentials === undefined ? {} : { credentials: options.credentials as never }),
        ...(options.keyFilename === undefined ? {} : { keyFilename: options.keyFilename }),
      });
      // Self-signed JWTs for service accounts, as Google's GAPIC libraries use: no round trip to the token service.
      a.useJWTAccessWithScope = true;
      return a;
    });
    auth.catch(() => (auth = undefined));
    return auth;
  };
  return {
    async authorization() {
      try {
        const client = await (await get()).getClient();
        const headers = (await client.getRequestHeaders()) as unknown as Headers | Record<string, string>;
        const value =
          typeof (headers as Headers).get === 'function'
            ? (headers as Headers).get('authorization')
            : ((headers as Record<string, string>).Authorization ?? (headers as Record<string, string>).authorization);
        if (value === null || value === undefined) throw new Error('no Authorization header from ADC');
        return value;
      } catch (cause) {
        throw authError(cause);
      }
    },
    async projectId() {
      try {
        return (await (await get()).getProjectId()) ?? undefined;
      } catch {
        return undefined;
      }
    },
  };
}

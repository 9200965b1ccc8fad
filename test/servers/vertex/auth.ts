/**
 * Google's bearer-token check, as a Google API front end does it for a service account's self-signed JWT
 * ("Service account authorization without OAuth", developers.google.com/identity/protocols/oauth2/service-account#jwt-auth):
 * an RS256 JWT signed by the account's private key, `iss` and `sub` the account's email, a `scope` (or an `aud` of
 * the API), not expired. Google client libraries send this instead of an OAuth token for service-account keys.
 * Missing or bad credentials: 401 UNAUTHENTICATED; a known account without the role: 403 PERMISSION_DENIED.
 */
import { createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A service account the test server trusts, with the key file JSON ADC reads. */
export interface TestServiceAccount {
  readonly email: string;
  readonly publicKey: KeyObject;
  /** The service-account key file, as the IAM console downloads it. */
  readonly keyFile: { readonly type: string } & Record<string, string>;
}

/** Generates a service account key pair and its key file. */
export function createServiceAccount(project = 'modelship-test', name = 'ci'): TestServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = `${name}@${project}.iam.gserviceaccount.com`;
  return {
    email,
    publicKey,
    keyFile: {
      type: 'service_account',
      project_id: project,
      private_key_id: 'abc123',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: '1234567890',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
      universe_domain: 'googleapis.com',
    },
  };
}

/** What the auth check says: who called, or the status and Google error to answer with. */
export type AuthResult =
  | { readonly ok: true; readonly email: string }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

const b64 = (s: string): Buffer => Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');

/** Checks the request's `Authorization: Bearer` against the trusted accounts (and static tokens). */
export function checkAuth(
  req: IncomingMessage,
  accounts: readonly TestServiceAccount[],
  tokens: ReadonlySet<string>,
  denied: ReadonlySet<string>,
): AuthResult {
  const unauthenticated = {
    ok: false,
    status: 401,
    // Google's text for a missing or invalid token.
    message:
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
  } as const;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer (\S+)$/.exec(header);
  if (!m) return unauthenticated;
  const token = m[1] as string;
  let email: string | undefined;
  if (tokens.has(token)) email = 'token';
  else {
    const [h, p, s] = token.split('.');
    if (h === undefined || p === undefined || s === undefined) return unauthenticated;
    let claims: { iss?: string; sub?: string; exp?: number; scope?: string; aud?: string };
    try {
      claims = JSON.parse(b64(p).toString('utf8')) as typeof claims;
    } catch {
      return unauthenticated;
    }
    const account = accounts.find((a) => a.email === claims.iss);
    if (account === undefined) return unauthenticated;
    const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(account.publicKey, b64(s));
    if (!ok || claims.sub !== claims.iss || (claims.exp ?? 0) * 1000 < Date.now()) return unauthenticated;
    if (claims.scope === undefined && claims.aud === undefined) return unauthenticated;
    email = account.email;
  }
  if (denied.has(email))
    return {
      ok: false,
      status: 403,
      message: `Permission 'aiplatform.models.get' denied on resource (or it may not exist).`,
    };
  return { ok: true, email };
}

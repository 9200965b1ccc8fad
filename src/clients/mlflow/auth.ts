/** How MLflow clients authenticate: one rule set for the registry adapter and the tracker (src/clients: one connection module per vendor). */
/** Credentials given to an MLflow client explicitly (options); the environment and the URI fill in the rest. */
export interface MlflowCredentials {
  readonly token?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/**
 * The tracking URI without `user:password@`, and the Authorization header to send instead. Order: explicit
 * options (username/password, then token), then credentials in the URI (which Python's `requests` sends for
 * MLflow's own client), then `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD`, then
 * `MLFLOW_TRACKING_TOKEN` — as in `mlflow.utils.rest_utils.http_request`, Basic needs both parts and wins over a
 * token. The returned URI is the one to show and to send requests to.
 */
export function mlflowAuth(
  uri: string,
  explicit: MlflowCredentials,
  env: NodeJS.ProcessEnv = process.env,
): { uri: string; headers: Record<string, string> } {
  const basic = (user: string, password: string): Record<string, string> => ({
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });
  let url: URL | undefined;
  try {
    url = new URL(uri);
  } catch {
    url = undefined;
  }
  const fromUri =
    url !== undefined && url.username !== ''
      ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
      : undefined;
  if (url !== undefined) {
    url.username = '';
    url.password = '';
  }
  const bare = (url?.href ?? uri).replace(/\/+$/, '');
  const nonEmpty = (v: string | undefined): v is string => v !== undefined && v !== '';
  let headers: Record<string, string> = {};
  if (nonEmpty(explicit.username)) headers = basic(explicit.username, explicit.password ?? '');
  else if (nonEmpty(explicit.token)) headers = { authorization: `Bearer ${explicit.token}` };
  else if (fromUri !== undefined) headers = basic(fromUri.username, fromUri.password);
  else if (nonEmpty(env.MLFLOW_TRACKING_USERNAME) && nonEmpty(env.MLFLOW_TRACKING_PASSWORD))
    headers = basic(env.MLFLOW_TRACKING_USERNAME, env.MLFLOW_TRACKING_PASSWORD);
  else if (nonEmpty(env.MLFLOW_TRACKING_TOKEN)) headers = { authorization: `Bearer ${env.MLFLOW_TRACKING_TOKEN}` };
  return { uri: bare, headers };
}

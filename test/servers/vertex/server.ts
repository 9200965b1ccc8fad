/** Starts the Vertex AI + Cloud Storage test server (vertex-handler.ts, gcs-handler.ts) on a free port. */
import { startRestartableServer, type RestartableServer } from '../restartable-server.js';
import { checkAuth, createServiceAccount, type TestServiceAccount } from './auth.js';
import { createGcsState, gcsAuthError, handleGcs, type GcsState } from './gcs-handler.js';
import { createVertexState, handleVertex, type VertexState } from './vertex-handler.js';

export interface VertexTestServer extends RestartableServer {
  readonly vertex: VertexState;
  readonly gcs: GcsState;
  /** The service account whose key file the tests hand to ADC. */
  readonly account: TestServiceAccount;
}

export async function startVertexServer(): Promise<VertexTestServer> {
  const account = createServiceAccount();
  const vertex = createVertexState([account]);
  const gcs = createGcsState(['models']);
  let base = '';
  const server = await startRestartableServer(async (req, res) => {
    if (req.url?.startsWith('/v1/')) return handleVertex(req, res, vertex);
    // Cloud Storage checks the same Google credentials; its 401 body is its own error shape. A resumable upload's
    // session URI (upload_id) is itself the credential: its PUTs are not signed (performing-resumable-uploads).
    const session = /[?&]upload_id=/.test(req.url ?? '');
    const auth = session ? { ok: true as const } : checkAuth(req, vertex.accounts, vertex.tokens, vertex.denied);
    if (!auth.ok) return gcsAuthError(req, res, gcs, auth.status);
    return handleGcs(req, res, gcs, base);
  });
  base = server.url;
  return Object.assign(server, { vertex, gcs, account });
}

/**
 * `createVertexRegistry` options pointed at `server`: its project and location, its API and storage roots, the
 * service account's key file, the `models` bucket, and 1 ms operation polls.
 */
export function vertexTestOptions(server: VertexTestServer, cacheDir: string) {
  return {
    project: server.vertex.project,
    location: server.vertex.location,
    apiEndpoint: server.url,
    storageEndpoint: server.url,
    credentials: server.account.keyFile,
    bucket: 'models',
    image: 'us-docker.pkg.dev/acme/serving/onnxruntime:1.22',
    operationPollMs: 1,
    cacheDir,
  };
}

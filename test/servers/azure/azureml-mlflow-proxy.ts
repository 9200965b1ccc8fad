/**
 * Azure ML's MLflow endpoint in front of an MLflow test server: https (self-signed, see tls.ts), every call under
 * `/mlflow/v1.0/subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.MachineLearningServices/workspaces/<w>`
 * (the workspace's tracking URI, `https://<region>.api.azureml.ms/mlflow/v1.0/…`), an Azure AD bearer token required
 * (401 without it, as the service answers). The rest of the path goes to the MLflow server as is.
 */
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { selfSignedCertificate } from './tls.js';

export interface AzureMlMlflowProxy {
  /** The workspace's MLflow tracking URI (https). */
  readonly trackingUri: string;
  readonly ca: string;
  close(): Promise<void>;
}

export async function startAzureMlMlflowProxy(
  target: string,
  token: string,
  workspacePath: string,
): Promise<AzureMlMlflowProxy> {
  const { key, cert } = selfSignedCertificate();
  const prefix = `/mlflow/v1.0${workspacePath}`;
  const server: Server = createServer({ key, cert }, (req, res) => {
    const url = req.url ?? '/';
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 'UserError', message: 'Authentication failed: the token is missing or invalid.' },
        }),
      );
      return;
    }
    if (!url.startsWith(`${prefix}/`)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'UserError', message: 'Workspace not found.' } }));
      return;
    }
    const upstream = request(
      `${target}${url.slice(prefix.length)}`,
      { method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    trackingUri: `https://127.0.0.1:${port}${prefix}`,
    ca: cert,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

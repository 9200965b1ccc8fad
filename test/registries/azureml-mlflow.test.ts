/**
 * createMlflowRegistry and createMlflowTracker against an Azure ML workspace's MLflow tracking URI
 * (`https://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/…/workspaces/<w>`) with an Azure AD bearer token: the
 * MLflow test servers behind the Azure path prefix, over TLS.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMlflowRegistry } from '../../src/registries/mlflow/index.js';
import { tempDir } from '../helpers/models.js';
import { startAzureMlMlflowProxy, type AzureMlMlflowProxy } from '../servers/azure/azureml-mlflow-proxy.js';
import { MlflowTestServer } from '../servers/mlflow/server.js';
import { startMlflowTrackingServer, type MlflowTrackingServer } from '../servers/mlflow-tracking/server.js';

const WORKSPACE =
  '/subscriptions/0000/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ml-ws';
const AAD = 'aad-token-for-https://ml.azure.com';

describe('MLflow on Azure ML', () => {
  let mlflow: MlflowTestServer;
  let tracking: MlflowTrackingServer;
  let proxies: AzureMlMlflowProxy[] = [];
  beforeAll(async () => {
    mlflow = new MlflowTestServer({ token: AAD });
    await mlflow.start();
    tracking = await startMlflowTrackingServer();
    proxies = [
      await startAzureMlMlflowProxy(mlflow.url, AAD, WORKSPACE),
      await startAzureMlMlflowProxy(tracking.url, AAD, WORKSPACE),
    ];
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await mlflow?.stop();
    await tracking?.close();
  });

  it('createMlflowRegistry publishes, resolves and fetches through the workspace tracking URI with an AAD token', async () => {
    const [p] = proxies as [AzureMlMlflowProxy];
    const dispatcher = new Agent({ connect: { ca: p.ca } });
    const opts = {
      trackingUri: p.trackingUri,
      token: AAD,
      dispatcher,
      cacheDir: join(await tempDir(), 'c'),
      retries: 0,
    };
    const registry = createMlflowRegistry(opts);
    const bytes = new TextEncoder().encode('an onnx model on azure ml');
    await registry.publish({ name: 'fraud', bytes, aliases: ['production'] });
    const resolved = await registry.resolve('models:/fraud@production');
    expect(resolved.version).toBe('1');
    const a = await registry.fetch(resolved);
    expect(a.kind).toBe('file');
    if (a.kind === 'file') a.release?.();
    const anonymous = createMlflowRegistry({ ...opts, token: 'expired' });
    await expect(anonymous.resolve('models:/fraud@production')).rejects.toMatchObject({ code: 'REGISTRY_AUTH_FAILED' });
    await dispatcher.close();
  });

  it('createMlflowTracker logs a run there (a child process trusting the certificate through NODE_EXTRA_CA_CERTS)', async () => {
    const [, p] = proxies as [AzureMlMlflowProxy, AzureMlMlflowProxy];
    const dir = await tempDir();
    await writeFile(join(dir, 'ca.pem'), p.ca);
    const script = `
      const { createMlflowTracker } = await import('modelship');
      const t = createMlflowTracker({ trackingUri: process.env.URI, token: process.env.TOKEN, spoolDir: process.env.SPOOL, lingerMs: 0 });
      const run = await t.startRun({ experiment: 'azure', name: 'azure-check' });
      run.logMetrics({ accuracy: 0.93 });
      await run.end();
      await t.close({ timeoutMs: 5000 });
      console.log('done');
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
        URI: p.trackingUri,
        TOKEN: AAD,
        SPOOL: join(dir, 'spool'),
      },
    });
    expect(stdout).toContain('done');
    expect(tracking.state.runs.size).toBe(1);
    expect(tracking.state.requests.filter((r) => r.path.endsWith('runs/log-batch')).map((r) => r.status)).toContain(
      200,
    );
  });
});

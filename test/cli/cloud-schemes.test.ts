/**
 * `vertex:` and `azureml:` references through the built bin: `modelship pull vertex:…` with only the environment
 * set (ADC key file, project, gcloud's endpoint override, STORAGE_EMULATOR_HOST) against the Vertex AI + Cloud
 * Storage test server, a config file whose models are `vertex:` references served by `modelship serve`, and the
 * INVALID_OPTIONS an `azureml:` reference gets when its variables are missing.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVertexRegistry } from 'modelship';
import { digits } from '../helpers/deployments.js';
import { postJson } from '../helpers/http.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { startVertexServer, vertexTestOptions, type VertexTestServer } from '../servers/vertex/server.js';
import { nameOf } from '../../src/cli/commands/serve.js';
import { runCli, startCli } from './cli.js';

let server: VertexTestServer;
let root: string;
let env: NodeJS.ProcessEnv;
const sha256 = createHash('sha256').update(tinyMnist().onnx).digest('hex');

beforeAll(async () => {
  server = await startVertexServer();
  root = await tempDir('modelship-cli-vertex-');
  const registry = createVertexRegistry(vertexTestOptions(server, join(root, 'seed-cache')));
  await registry.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['prod'] });
  const keyPath = join(root, 'key.json');
  await writeFile(keyPath, JSON.stringify(server.account.keyFile));
  env = {
    GOOGLE_APPLICATION_CREDENTIALS: keyPath,
    GOOGLE_CLOUD_PROJECT: server.vertex.project,
    GOOGLE_CLOUD_LOCATION: server.vertex.location,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM: `${server.url}/`,
    STORAGE_EMULATOR_HOST: server.url,
    MODELSHIP_CACHE_DIR: join(root, 'cache'),
  };
});
afterAll(async () => {
  await server?.close();
});

describe('vertex: and azureml: references in the CLI', () => {
  it('pull vertex:<model>@<alias> builds the Vertex registry from the environment', async () => {
    const r = await runCli(['pull', 'vertex:digits@prod'], { env });
    expect(r.stderr).not.toMatch(/^error/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('resolved vertex:digits@prod → digits version 1');
    expect(r.stdout).toContain(`sha256  ${sha256}`);
    const full = `vertex:projects/${server.vertex.project}/locations/${server.vertex.location}/models/digits@prod`;
    const j = await runCli(['pull', full, '--json'], { env: { ...env, GOOGLE_CLOUD_PROJECT: '' } });
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ name: 'digits', version: '1', sha256 });
  });

  it('names the variables to set, and refuses --offline, instead of trying the local registry', async () => {
    const v = await runCli(['pull', 'vertex:digits@prod'], {
      env: { GOOGLE_CLOUD_PROJECT: '', GCLOUD_PROJECT: '', CLOUDSDK_CORE_PROJECT: '' },
    });
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(
      /^error INVALID_OPTIONS: .*GOOGLE_CLOUD_PROJECT \(or GCLOUD_PROJECT, CLOUDSDK_CORE_PROJECT\)/m,
    );
    const blank = { AZURE_SUBSCRIPTION_ID: '', AZUREML_ARM_SUBSCRIPTION: '', AZURE_RESOURCE_GROUP: '' };
    const a = await runCli(['inspect', 'azureml:fraud@production'], {
      env: { ...blank, AZUREML_ARM_RESOURCEGROUP: '', AZURE_DEFAULTS_GROUP: '' },
    });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^error INVALID_OPTIONS: .*AZURE_SUBSCRIPTION_ID .*createAzureMlRegistry/m);
    const offline = await runCli(['pull', 'vertex:digits@prod', '--offline'], { env });
    expect(offline.code).toBe(2);
    expect(offline.stderr).toMatch(/^error INVALID_OPTIONS: pull --offline cannot/m);
  });

  it('a scheme reference on the command line is served under its model name', () => {
    expect(nameOf('vertex:digits@prod')).toBe('digits');
    expect(nameOf('vertex:projects/p/locations/us-central1/models/fraud-v2@3')).toBe('fraud-v2');
    expect(nameOf('azureml:fraud:3')).toBe('fraud');
    expect(nameOf('azureml://registries/shared/models/fraud/versions/3')).toBe('fraud');
    expect(nameOf('azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/d/paths/m/fraud.onnx')).toBe(
      'fraud',
    );
    expect(nameOf('dvc:digits#prod')).toBe('digits');
  });

  it('a config file model with a vertex: reference is served under the model name', async () => {
    const file = join(root, 'modelship.yaml');
    await writeFile(file, 'version: 1\nmodels:\n  digits:\n    ref: vertex:digits@prod\n    workers: 1\n');
    expect((await runCli(['config', 'check', file])).code).toBe(0);
    const running = await startCli(['serve', '--config', file, '--port', '0', '--log-format', 'json'], {
      cwd: root,
      env,
      ready: /"message":"listening on (http:\/\/[^"]+)"/,
    });
    try {
      const { images, labels } = digits(1);
      const res = await postJson(`${running.match[1]}/models/digits/predict`, { inputs: images });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-modelship-version')).toBe('1');
      const scores = res.body.outputs.probabilities[0] as number[];
      expect(scores.indexOf(Math.max(...scores))).toBe(labels[0]);
    } finally {
      await running.stop();
    }
  });

  it('a config file registry of type vertex (key file by a relative path) serves a model by alias', async () => {
    const file = join(root, 'vertex-registry.yaml');
    await writeFile(
      file,
      [
        'version: 1',
        'registries:',
        '  gcp:',
        '    type: vertex',
        `    project: ${server.vertex.project}`,
        `    location: ${server.vertex.location}`,
        `    apiEndpoint: ${server.url}`,
        `    storageEndpoint: ${server.url}`,
        '    keyFilename: ./key.json',
        'models:',
        '  digits:',
        '    registry: gcp',
        '    ref: digits@prod',
        '    workers: 1',
        '',
      ].join('\n'),
    );
    // Only the file: no Google variable in the environment.
    const bare = { MODELSHIP_CACHE_DIR: join(root, 'cache-config-registry') };
    expect((await runCli(['config', 'check', file], { env: bare })).code).toBe(0);
    const running = await startCli(['serve', '--config', file, '--port', '0', '--log-format', 'json'], {
      cwd: root,
      env: bare,
      ready: /"message":"listening on (http:\/\/[^"]+)"/,
    });
    try {
      const { images, labels } = digits(1);
      const res = await postJson(`${running.match[1]}/models/digits/predict`, { inputs: images });
      expect(res.status).toBe(200);
      const scores = res.body.outputs.probabilities[0] as number[];
      expect(scores.indexOf(Math.max(...scores))).toBe(labels[0]);
    } finally {
      await running.stop();
    }
  });

  it('a config file cannot hold a Google access token or an Azure credential object', async () => {
    const file = join(root, 'secrets.yaml');
    await writeFile(
      file,
      'version: 1\nregistries:\n  gcp:\n    type: vertex\n    accessToken: ya29.secret\n  az:\n    type: azureml\n    subscriptionId: s\n    credential: {}\n',
    );
    const r = await runCli(['config', 'check', file], { env: {} });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/registries\.gcp\.accessToken: unknown key/);
    expect(r.stderr).toMatch(/registries\.az\.credential: unknown key/);
    expect(r.stderr).not.toContain('ya29.secret');
  });
});

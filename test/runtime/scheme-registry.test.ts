/**
 * `vertex:` and `azureml:` references pick their registry from the environment (registryForRef): which variables
 * each form needs, what the error names when they are missing, which forms carry their own scope, and one adapter
 * per scope. The Vertex adapter built from the environment alone resolves and runs a model from the Vertex AI +
 * Cloud Storage test server (ADC from GOOGLE_APPLICATION_CREDENTIALS, gcloud's endpoint override).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVertexRegistry, loadModel, registryForRef, silentLogger } from 'modelship';
import { ModelshipError } from '../../src/errors/index.js';
import { digits } from '../helpers/deployments.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { startVertexServer, vertexTestOptions, type VertexTestServer } from '../servers/vertex/server.js';

function optionsError(fn: () => unknown): ModelshipError {
  try {
    fn();
  } catch (e) {
    expect(ModelshipError.isInstance(e), String(e)).toBe(true);
    return e as ModelshipError;
  }
  throw new Error('expected INVALID_OPTIONS');
}

const AZ = { AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000001', AZURE_RESOURCE_GROUP: 'ml' };

describe('vertex: references from the environment', () => {
  it('a short reference needs a project variable and names the alternatives and the factory', () => {
    const e = optionsError(() => registryForRef('vertex:digits@prod', {}));
    expect(e.code).toBe('INVALID_OPTIONS');
    expect(e.message).toContain('GOOGLE_CLOUD_PROJECT (or GCLOUD_PROJECT, CLOUDSDK_CORE_PROJECT) is not set');
    expect(e.message).toContain("createVertexRegistry({ project: 'my-project', location: 'us-central1' })");
    for (const project of ['GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'CLOUDSDK_CORE_PROJECT'])
      expect(registryForRef('vertex:digits', { [project]: 'p' })?.kind).toBe('vertex');
  });

  it('a full resource name carries its project and location; one adapter per scope', () => {
    const a = registryForRef('vertex:projects/p1/locations/europe-west4/models/digits@prod', {});
    const b = registryForRef('vertex:projects/p1/locations/europe-west4/models/other@3', {});
    const c = registryForRef('vertex:projects/p2/locations/europe-west4/models/digits@prod', {});
    expect(a?.kind).toBe('vertex');
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    const env = { GOOGLE_CLOUD_PROJECT: 'p1', GOOGLE_CLOUD_LOCATION: 'us-east1' };
    expect(registryForRef('vertex:digits@prod', env)).toBe(registryForRef('vertex:other', env));
    expect(registryForRef('vertex:digits@prod', { ...env, GOOGLE_CLOUD_LOCATION: 'asia-east1' })).not.toBe(
      registryForRef('vertex:digits@prod', env),
    );
  });

  it('a malformed variable is named with the factory to use instead', () => {
    const e = optionsError(() =>
      registryForRef('vertex:digits', { GOOGLE_CLOUD_PROJECT: 'p', GOOGLE_CLOUD_LOCATION: 'eu west!' }),
    );
    expect(e.code).toBe('INVALID_OPTIONS');
    expect(e.message).toMatch(/built from GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION refused its settings/);
    expect(e.message).toContain('createVertexRegistry');
    const a = optionsError(() => registryForRef('azureml:fraud', { ...AZ, AZUREML_ARM_WORKSPACE_NAME: 'x' }));
    expect(a.message).toMatch(/AZUREML_ARM_WORKSPACE_NAME refused its settings.*workspace/s);
  });

  it('a malformed reference still gets the adapter, which refuses it with INVALID_REF', async () => {
    expect(optionsError(() => registryForRef('vertex:projects/x', {})).code).toBe('INVALID_OPTIONS');
    const registry = registryForRef('vertex:a/b/c@!!', { GOOGLE_CLOUD_PROJECT: 'p' });
    await expect(registry?.resolve('vertex:a/b/c@!!')).rejects.toMatchObject({ code: 'INVALID_REF' });
    // A long hostile reference is cut short in the message.
    const long = `vertex:${'x'.repeat(5000)}`;
    expect(optionsError(() => registryForRef(long, {})).message.length).toBeLessThan(600);
  });
});

describe('azureml: references from the environment', () => {
  it('a name needs subscription, resource group and workspace, and names every one missing', () => {
    const e = optionsError(() => registryForRef('azureml:fraud@production', {}));
    expect(e.code).toBe('INVALID_OPTIONS');
    expect(e.message).toContain(
      'AZURE_SUBSCRIPTION_ID (or AZUREML_ARM_SUBSCRIPTION), AZURE_RESOURCE_GROUP (or AZUREML_ARM_RESOURCEGROUP, AZURE_DEFAULTS_GROUP), AZUREML_ARM_WORKSPACE_NAME (or AZURE_DEFAULTS_WORKSPACE) are not set',
    );
    expect(e.message).toContain("createAzureMlRegistry({ subscriptionId, resourceGroup: 'ml', workspace: 'my-ws' })");
    const one = optionsError(() => registryForRef('azureml:fraud:3', AZ));
    expect(one.message).toContain('AZUREML_ARM_WORKSPACE_NAME (or AZURE_DEFAULTS_WORKSPACE) is not set: set it');
    // Inside an Azure ML job (AZUREML_ARM_*) or after `az configure --defaults` (AZURE_DEFAULTS_*).
    const job = {
      AZUREML_ARM_SUBSCRIPTION: 's',
      AZUREML_ARM_RESOURCEGROUP: 'g',
      AZUREML_ARM_WORKSPACE_NAME: 'prod-ws',
    };
    expect(registryForRef('azureml:fraud', job)?.kind).toBe('azureml');
    const cli = { AZURE_SUBSCRIPTION_ID: 's', AZURE_DEFAULTS_GROUP: 'g', AZURE_DEFAULTS_WORKSPACE: 'prod-ws' };
    expect(registryForRef('azureml:fraud@production', cli)?.kind).toBe('azureml');
  });

  it('azureml://registries/… needs no workspace; a datastore URI needs nothing', () => {
    const ref = 'azureml://registries/shared-models/models/fraud/versions/3';
    expect(optionsError(() => registryForRef(ref, {})).message).toMatch(
      /AZURE_SUBSCRIPTION_ID .*AZURE_RESOURCE_GROUP .*are not set/,
    );
    const shared = registryForRef(ref, AZ);
    expect(shared?.kind).toBe('azureml');
    expect(registryForRef('azureml://registries/other-reg/models/fraud/labels/latest', AZ)).not.toBe(shared);
    const ds =
      'azureml://subscriptions/s1/resourcegroups/g1/workspaces/ws-one/datastores/workspaceblobstore/paths/models/fraud.onnx';
    const a = registryForRef(ds, {});
    expect(a?.kind).toBe('azureml');
    expect(registryForRef(ds.replace('/ws-one/', '/ws-two/'), {})).not.toBe(a);
  });
});

describe('a Vertex adapter built from the environment alone', () => {
  let server: VertexTestServer;
  let dir: string;
  const saved = { ...process.env };
  beforeAll(async () => {
    server = await startVertexServer();
    dir = await tempDir('modelship-scheme-');
    const seeder = createVertexRegistry(vertexTestOptions(server, join(dir, 'seed-cache')));
    await seeder.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['prod'] });
    const keyPath = join(dir, 'key.json');
    await writeFile(keyPath, JSON.stringify(server.account.keyFile));
    Object.assign(process.env, {
      GOOGLE_APPLICATION_CREDENTIALS: keyPath,
      CLOUDSDK_CORE_PROJECT: server.vertex.project,
      CLOUD_ML_REGION: server.vertex.location,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM: `${server.url}/`,
      STORAGE_EMULATOR_HOST: server.url,
      MODELSHIP_CACHE_DIR: join(dir, 'cache'),
    });
  });
  afterAll(async () => {
    process.env = saved;
    await server?.close();
  });

  it('loadModel("vertex:digits@prod") resolves, downloads and predicts', async () => {
    const model = await loadModel('vertex:digits@prod', { workers: 1, logger: silentLogger });
    try {
      expect([model.name, model.version]).toEqual(['digits', '1']);
      const { images, labels } = digits(1);
      const out = await model.predict(images);
      const scores = Array.from(out.probabilities!.data as Float32Array);
      expect(scores.indexOf(Math.max(...scores))).toBe(labels[0]);
    } finally {
      await model.close();
    }
  });

  it('the full resource name resolves with no project variable at all', async () => {
    delete process.env.CLOUDSDK_CORE_PROJECT;
    const ref = `vertex:projects/${server.vertex.project}/locations/${server.vertex.location}/models/digits@prod`;
    const resolved = await registryForRef(ref)?.resolve(ref);
    expect(resolved).toMatchObject({ name: 'digits', version: '1', aliases: ['prod'] });
  });
});

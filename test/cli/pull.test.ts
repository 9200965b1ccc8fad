/**
 * `modelship pull` against the MLflow test server (test/servers/mlflow), through the built bin: progress
 * lines, the resolved version and sha256, `--offline` answered from the cache alone; and scheme references
 * (`models:/`, `wandb:`) picking their registry from the environment, in the library and in `serve`.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from 'modelship';
import { postJson } from '../helpers/http.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { digits } from '../helpers/deployments.js';
import { MlflowTestServer } from '../servers/mlflow/server.js';
import { runCli, startCli } from './cli.js';

let mlflow: MlflowTestServer;
let env: NodeJS.ProcessEnv;
const sha256 = createHash('sha256').update(tinyMnist().onnx).digest('hex');

beforeAll(async () => {
  mlflow = new MlflowTestServer();
  await mlflow.start();
  // As mlflow.onnx.log_model stores it: an MLmodel with the onnx flavor beside the model file.
  const mlmodel = 'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.17.0\n';
  for (const v of ['1', '2']) {
    mlflow.putArtifact(`digits${v}/MLmodel`, mlmodel);
    mlflow.putArtifact(`digits${v}/model.onnx`, tinyMnist().onnx);
    mlflow.addVersion('digits', `mlflow-artifacts:/digits${v}`);
  }
  mlflow.setAlias('digits', 'production', '1');
  mlflow.setAlias('digits', 'candidate', '2');
  env = { MLFLOW_TRACKING_URI: mlflow.url, MODELSHIP_CACHE_DIR: await tempDir('modelship-cli-cache-') };
});

afterAll(() => mlflow.stop());

describe('modelship pull', () => {
  it('downloads into the cache with progress, printing the version and sha256', async () => {
    const r = await runCli(['pull', 'models:/digits@production'], { env });
    // MLflow streams artifacts without a length, so the lines give bytes and rate (no share or ETA).
    const kib = (tinyMnist().onnx.length / 1024).toFixed(1);
    expect(r.stderr).toMatch(
      new RegExp(`^downloading http://127\\.0\\.0\\.1:\\d+/\\S+: ${kib} KiB, [\\d.]+ (B|KiB|MiB)/s$`, 'm'),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('resolved models:/digits@production → digits version 1');
    expect(r.stdout).toContain(`sha256  ${sha256}`);
  });

  it('--offline proves the reference is servable from the cache alone, without a request', async () => {
    const before = mlflow.requests.length;
    const r = await runCli(['pull', 'models:/digits@production', '--offline', '--json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: 'digits',
      version: '1',
      sha256,
      offline: true,
      fromCache: true,
    });
    expect(mlflow.requests.length).toBe(before);
  });

  it('--offline exits 1 for a reference the cache has never resolved', async () => {
    const r = await runCli(['pull', 'models:/digits@candidate', '--offline'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not servable offline');
    expect(r.stderr).toContain('run `modelship pull models:/digits@candidate` while the registry is reachable');
  });

  it('says which variable or factory a scheme reference needs when the environment lacks it (exit 2)', async () => {
    const r = await runCli(['pull', 'models:/digits@production'], { env: { ...env, MLFLOW_TRACKING_URI: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error INVALID_OPTIONS: .*MLFLOW_TRACKING_URI is not set/m);
    expect(r.stderr).toContain('createMlflowRegistry');
  });
});

describe('scheme references from the environment', () => {
  it('loadModel("models:/…") without a registry uses MLFLOW_TRACKING_URI', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const model = await loadModel('models:/digits@candidate', { workers: 0 });
      expect([model.name, model.version, model.sha256]).toEqual(['digits', '2', sha256]);
      await model.close();
    } finally {
      process.env = saved;
    }
  });

  it('loadModel("wandb:…") without WANDB_API_KEY names the variable and the factory', async () => {
    const saved = { ...process.env };
    delete process.env.WANDB_API_KEY;
    try {
      await expect(loadModel('wandb:team/proj/digits:production')).rejects.toMatchObject({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('WANDB_API_KEY is not set: set it, or pass { registry: createWandbRegistry'),
      });
    } finally {
      process.env = saved;
    }
  });

  it('modelship serve models:/… --canary …=w serves a deployment from MLflow with only the environment set', async () => {
    const server = await startCli(
      [
        'serve',
        'models:/digits@production',
        '--canary',
        'models:/digits@candidate=0.5',
        '--port',
        '0',
        '--workers',
        '1',
        '--log-format',
        'json',
      ],
      { cwd: process.cwd(), env, ready: /"message":"listening on (http:\/\/[^"]+)"/ },
    );
    try {
      // ECS JSON lines, one per model when ready.
      const lines = server
        .output()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines[0]).toMatchObject({
        'log.level': 'info',
        'ecs.version': expect.any(String),
        'labels.model_name': 'digits',
        message: 'ready digits deployment: stable 1, canary 2 (50%)',
      });
      const { images, labels } = digits(1);
      const versions = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const res = await postJson(
          `${server.match[1]}/models/digits/predict`,
          { inputs: images },
          { 'x-modelship-route-key': `k${i}` },
        );
        expect(res.status).toBe(200);
        versions.add(res.headers.get('x-modelship-version') as string);
        const scores = res.body.outputs.probabilities[0] as number[];
        expect(scores.indexOf(Math.max(...scores))).toBe(labels[0]);
      }
      expect([...versions].sort()).toEqual(['1', '2']);
    } finally {
      await server.stop();
    }
  });
});

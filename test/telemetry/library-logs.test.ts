/**
 * The library's own lines through a structured logger: a crashed worker of a real model, a deployment rolled
 * back, a server fault answered 500 — each an ECS line with the model or deployment labels and the error code,
 * so a log search can group them. A console-like logger still gets plain messages.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createDeployment, createEcsLogger, createHandler, loadModel, type Deployment, type Model } from 'modelship';
import { createOnnxNodeBackend } from '../../src/backends/onnx-node/index.js';
import type { WorkerPoolSession } from '../../src/backends/onnx-node/worker-pool.js';
import { loadModelWith, type ServingRuntime } from '../../src/serving/load-model.js';
import { nodeRuntime } from '../../src/serving/node-runtime.js';
import type { BackendSession } from '../../src/spec/backend.js';
import { deploymentRegistry, wrap } from '../helpers/deployments.js';
import { tempFile, tinyMnist } from '../helpers/models.js';

type Line = Record<string, unknown>;

function ecs(): { lines: Line[]; logger: ReturnType<typeof createEcsLogger> } {
  const lines: Line[] = [];
  return { lines, logger: createEcsLogger({ level: 'debug', write: (s) => lines.push(JSON.parse(s) as Line) }) };
}

const open: Array<{ close(): Promise<unknown> }> = [];
afterAll(async () => {
  for (const o of open) await o.close();
});

describe('library lines as ECS fields', () => {
  it('a crashed worker: error.code WORKER_CRASHED with the model labels, then its replacement', async () => {
    const { lines, logger } = ecs();
    let session: BackendSession | undefined;
    const real = createOnnxNodeBackend();
    const runtime: ServingRuntime = {
      ...nodeRuntime,
      backend: async () => ({
        ...real,
        createSession: async (...args: Parameters<typeof real.createSession>) =>
          (session = await real.createSession(...args)),
      }),
    };
    const path = await tempFile(tinyMnist().onnx, 'mnist.onnx');
    const model: Model = await loadModelWith(runtime, path, { name: 'mnist', version: '7', workers: 1, logger });
    open.push(model);
    await model.ready();
    const exited = (session as WorkerPoolSession).crashWorkerForTesting(0);
    const pixels = { dtype: 'float32' as const, shape: [1, 784], data: tinyMnist().test.images.slice(0, 784) };
    await model.predict({ pixels }).catch(() => undefined);
    await exited;
    await model.predict({ pixels });
    expect(lines.find((l) => l['event.action'] === 'worker-crashed')).toMatchObject({
      'log.level': 'error',
      'error.code': 'WORKER_CRASHED',
      'labels.model_name': 'mnist',
      'labels.model_version': '7',
    });
    expect(lines.find((l) => l['event.action'] === 'worker-restarted')).toMatchObject({
      'log.level': 'info',
      'labels.model_name': 'mnist',
      'labels.model_version': '7',
    });
  });

  it('a deployment rolled back: the deployment, the version and the reason', async () => {
    const { lines, logger } = ecs();
    const d: Deployment = await createDeployment({
      name: 'digits',
      stable: 'mnist/1',
      canary: { ref: 'mnist/2', weight: 0.2 },
      registry: await deploymentRegistry(),
      logger,
      modelOptions: { workers: 1 },
    });
    open.push(d);
    await d.rollback();
    expect(lines.find((l) => l['event.action'] === 'rollback')).toMatchObject({
      'log.level': 'warn',
      'event.dataset': 'modelship.deployment',
      'event.reason': 'manual',
      'labels.deployment_name': 'digits',
      'labels.model_version': '2',
    });
  });

  it('a server fault answered 500: error.code, the error and its stack; the answer carries neither', async () => {
    const { lines, logger } = ecs();
    const model = await loadModel(tinyMnist().onnx, { name: 'mnist', version: '1', workers: 1, logger });
    open.push(model);
    const broken = wrap(model, async () => {
      throw new Error('disk /srv/secret/model.bin vanished');
    });
    const handler = createHandler({ models: [broken], logger, closeModels: false });
    const res = await handler(
      new Request('http://x/predict', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [[0]] }),
      }),
    );
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('/srv/secret');
    const line = lines.find((l) => l['log.level'] === 'error');
    expect(line).toMatchObject({ 'error.code': 'INTERNAL', message: expect.stringMatching(/^INTERNAL: /) });
    expect((line?.error as Line).stack_trace).toEqual(expect.stringContaining('vanished'));
  });

  it('a console-like logger still gets plain messages', async () => {
    const seen: unknown[][] = [];
    const consoleLike = {
      debug: () => undefined,
      info: () => undefined,
      warn: (...a: unknown[]) => void seen.push(a),
      error: () => undefined,
    };
    const d = await createDeployment({
      name: 'plain',
      stable: 'mnist/1',
      canary: { ref: 'mnist/2', weight: 0.2 },
      registry: await deploymentRegistry(),
      logger: consoleLike,
      modelOptions: { workers: 1 },
    });
    open.push(d);
    await d.rollback();
    expect(seen).toContainEqual(['Deployment plain: canary 2 set to weight 0 (manual).']);
  });
});

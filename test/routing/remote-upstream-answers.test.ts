/**
 * Remote versions (KServe v2 and SageMaker endpoints) against what an upstream may send back, and the deadlines
 * an in-process caller may ask for: real upstream servers on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeploymentWith,
  createHandler,
  createRemoteVersion,
  silentLogger,
  type Deployment,
  type ServableModel,
} from 'modelship';
import { serve } from 'modelship/node';
import { createSageMakerVersion } from '../../src/backends/remote/sagemaker.js';
import { postJson } from '../helpers/http.js';
import { rejection } from '../helpers/errors.js';
import { createSageMakerState } from '../servers/sagemaker/handler.js';
import { startSageMakerServer, type SageMakerTestServer } from '../servers/sagemaker/server.js';

type Outputs = { name: unknown; datatype: string; shape: unknown; data: unknown[] }[];

const META = {
  name: 'm',
  versions: ['1'],
  platform: 'onnx',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }],
};
const GOOD: Outputs = [{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [2, 3, 4, 5] }];

/** A KServe v2 server answering /infer with whatever `answer` holds at the time; counts /infer requests. */
async function upstream(): Promise<{
  url: string;
  answer: { outputs: Outputs };
  infers: number;
  close(): Promise<void>;
}> {
  const state = { answer: { outputs: GOOD }, infers: 0 };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.method === 'GET') return res.end(JSON.stringify(META));
      state.infers++;
      res.end(JSON.stringify({ model_name: 'm', outputs: state.answer.outputs }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get answer() {
      return state.answer;
    },
    set answer(value) {
      state.answer = value;
    },
    get infers() {
      return state.infers;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const warnings: Error[] = [];
const onWarning = (w: Error): void => {
  warnings.push(w);
};

describe('remote version deadlines', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  let sagemaker: SageMakerTestServer;
  beforeAll(async () => {
    up = await upstream();
    sagemaker = await startSageMakerServer(createSageMakerState('AKIDTEST'));
    sagemaker.state.endpoints.set('e', () => ({ body: { outputs: GOOD } }));
    process.on('warning', onWarning);
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await up.close();
    await sagemaker.close();
  });

  const BAD = [2 ** 31, 2 ** 40, Number.MAX_VALUE, Infinity, Number.NaN, 0, -1];

  it('refuses deadlines a timer cannot hold with INVALID_ARGUMENT, sending nothing upstream (KServe v2, SageMaker, through a deployment)', async () => {
    const v2 = await createRemoteVersion({ protocol: 'v2', url: up.url, model: 'm', retries: 0 });
    const sm = await createSageMakerVersion({
      protocol: 'sagemaker',
      endpointName: 'e',
      signature: v2.signature as never,
      endpoint: sagemaker.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
      retries: 0,
    });
    const deployment = await createDeploymentWith(() => Promise.reject(new Error('not used')), {
      name: 'remote',
      stable: { remote: { protocol: 'v2', url: up.url, model: 'm', retries: 0 } },
      logger: silentLogger,
    });
    try {
      const invokes = (): number => sagemaker.state.requests.filter((r) => r.target === 'InvokeEndpoint').length;
      for (const deadlineMs of BAD) {
        for (const version of [v2, sm, deployment] as (ServableModel | Deployment)[]) {
          const e = await rejection(version.predict([[1, 2, 3, 4]], { deadlineMs }) as Promise<unknown>);
          expect({ deadlineMs, code: e.code }).toEqual({ deadlineMs, code: 'INVALID_ARGUMENT' });
        }
      }
      expect(up.infers).toBe(0);
      expect(invokes()).toBe(0);
      // A caller's bad deadline says nothing about the version.
      expect(deployment.status().stable.stats.errors).toBe(0);
      // The largest deadline a timer holds is taken, and the answer comes back.
      for (const version of [v2, sm, deployment] as (ServableModel | Deployment)[]) {
        await expect(version.predict([[1, 2, 3, 4]], { deadlineMs: 2_147_483_647 })).resolves.toBeDefined();
      }
      expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
    } finally {
      await Promise.all([v2.close(), sm.close(), deployment.close()]);
    }
  });
});

describe('remote version output names and shapes', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  beforeAll(async () => {
    up = await upstream();
  });
  afterEach(() => {
    up.answer = { outputs: GOOD };
  });
  afterAll(() => up.close());

  it('keeps an output named __proto__ as a plain output, never as the prototype of the outputs', async () => {
    const remote = await createRemoteVersion({ protocol: 'v2', url: up.url, model: 'm', retries: 0 });
    up.answer = { outputs: [{ name: '__proto__', datatype: 'FP32', shape: [1, 1], data: [7] }, ...GOOD] };
    try {
      const out = await remote.predict([[1, 2, 3, 4]]);
      expect(Object.keys(out).sort()).toEqual(['__proto__', 'y']);
      expect(Object.getPrototypeOf(out)).toBe(null);
      expect(Array.from(Object.getOwnPropertyDescriptor(out, '__proto__')!.value.data as Float32Array)).toEqual([7]);
      // Served on through a deployment, the name reaches the client as a plain key.
      const deployment = await createDeploymentWith(() => Promise.reject(new Error('not used')), {
        name: 'remote',
        stable: { remote: { protocol: 'v2', url: up.url, model: 'm', retries: 0 } },
        logger: silentLogger,
      });
      const server = await serve(createHandler({ models: [deployment], logger: silentLogger }), {
        port: 0,
        host: '127.0.0.1',
      });
      try {
        const res = await postJson(`${server.url}/models/remote/predict`, { inputs: [[1, 2, 3, 4]] });
        expect(res.status).toBe(200);
        expect(Object.hasOwn(res.body.outputs, '__proto__')).toBe(true);
        expect(res.body.outputs.y).toEqual([[2, 3, 4, 5]]);
      } finally {
        await server.close();
      }
    } finally {
      await remote.close();
    }
  });

  const HOSTILE: [string, Outputs][] = [
    ['a duplicate name', [...GOOD, ...GOOD]],
    ['an empty name', [{ ...GOOD[0]!, name: '' }]],
    ['a name that is not a string', [{ ...GOOD[0]!, name: 7 }]],
    ['an absurdly long name', [{ ...GOOD[0]!, name: 'y'.repeat(100_000) }]],
    ['a name with control characters', [{ ...GOOD[0]!, name: 'y\r\nx' }]],
    ['a negative shape', [{ ...GOOD[0]!, shape: [-1, -4] }]],
    ['a shape that is not a list of integers', [{ ...GOOD[0]!, shape: '1,4' }]],
    ['a shape whose size is not the data length', [{ ...GOOD[0]!, shape: [2, 4] }]],
    ['a huge empty shape', [{ ...GOOD[0]!, shape: [2 ** 32, 0], data: [] }]],
    ['an INT64 value that is not an integer', [{ name: 'y', datatype: 'INT64', shape: [1], data: [1.5] }]],
    ['an unknown datatype', [{ ...GOOD[0]!, datatype: 'FP8' }]],
  ];

  it('refuses duplicate or absurd output names and malformed tensors from upstream as UPSTREAM_ERROR', async () => {
    const remote = await createRemoteVersion({ protocol: 'v2', url: up.url, model: 'm', retries: 0 });
    try {
      for (const [what, outputs] of HOSTILE) {
        up.answer = { outputs };
        const e = await rejection(remote.predict([[1, 2, 3, 4]]));
        expect({ what, code: e.code }).toEqual({ what, code: 'UPSTREAM_ERROR' });
        expect(e.message.length).toBeLessThan(600);
      }
    } finally {
      await remote.close();
    }
  });
});

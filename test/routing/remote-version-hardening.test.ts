import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, createRemoteVersion, silentLogger, type LocalRegistry } from 'modelship';
import { deploymentRegistry, loaderWith, wrap } from '../helpers/deployments.js';

/** A KServe v2 server whose metadata advertises `versions`; /infer answers 503 (an outage), counting requests. */
async function v2Server(versions: string[]): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          name: 'm',
          versions,
          platform: 'onnx',
          inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
          outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }],
        }),
      );
      return;
    }
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"error":"down"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const errorOf = async (p: Promise<unknown>): Promise<{ code?: string; message: string }> => {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
};

describe('remote version labels', () => {
  let registry: LocalRegistry;
  let upstream: Awaited<ReturnType<typeof v2Server>>;
  beforeAll(async () => {
    registry = await deploymentRegistry();
    upstream = await v2Server(['1']);
  });
  afterAll(() => upstream.close());

  const BAD_LABELS = ['v2\r\nx-injected: 1', 'v2\n', 'версия-2', '模型', 'v2\u0000', ' v2', 'x'.repeat(200)];

  it('refuses a label that cannot be an x-modelship-version header at option parsing (INVALID_OPTIONS)', async () => {
    for (const version of BAD_LABELS) {
      const remote = { protocol: 'v2' as const, url: upstream.url, model: 'm', version };
      const e = await errorOf(
        createDeploymentWith(loaderWith(registry), {
          name: 'mnist',
          stable: 'mnist/1',
          canary: { ref: { remote }, weight: 0.5 },
          logger: silentLogger,
        }),
      );
      expect({ version, code: e.code }).toEqual({ version, code: 'INVALID_OPTIONS' });
      expect(e.message).toMatch(/printable ASCII/);
      expect((await errorOf(createRemoteVersion(remote))).code).toBe('INVALID_OPTIONS');
    }
  });

  it('refuses a remote server whose metadata names its version with such a label, unless version is set', async () => {
    for (const label of BAD_LABELS) {
      const bad = await v2Server([label]);
      try {
        const e = await errorOf(createRemoteVersion({ protocol: 'v2', url: bad.url, model: 'm' }));
        expect({ label, code: e.code }).toEqual({ label, code: 'UPSTREAM_ERROR' });
        expect(e.message).toMatch(/remote\.version/);
        const fixed = await createRemoteVersion({ protocol: 'v2', url: bad.url, model: 'm', version: 'blue' });
        expect(fixed.version).toBe('blue');
        await fixed.close();
      } finally {
        await bad.close();
      }
    }
  });

  it('refuses a version a custom loader labels that way', async () => {
    const loader = async (ref: string) => {
      const model = await loaderWith(registry)(ref);
      return ref === 'mnist/2'
        ? { ...wrap(model, (i, o) => model.predict(i, o)), version: '2\r\nset-cookie: x=1' }
        : model;
    };
    const e = await errorOf(
      createDeploymentWith(loader, {
        name: 'mnist',
        stable: 'mnist/1',
        canary: { ref: 'mnist/2', weight: 0.5 },
        logger: silentLogger,
      }),
    );
    expect(e.code).toBe('MODEL_LOAD_FAILED');
    expect(e.message).toMatch(/printable ASCII/);
  });
});

describe('remote version credentials', () => {
  it('refuses a URL with user:password at option parsing, never echoing the password', async () => {
    const password = 'hunter2-s3cret-pw';
    for (const url of [
      `http://admin:${password}@127.0.0.1:1`,
      `http://admin:${password}@127.0.0.1:1/`,
      `http://${password}@127.0.0.1:1`,
    ]) {
      for (const attempt of [
        createRemoteVersion({ protocol: 'v2', url, model: 'm', retries: 0 }),
        createDeploymentWith(async () => Promise.reject(new Error('not used')), {
          name: 'x',
          stable: { remote: { protocol: 'v2', url, model: 'm', retries: 0 } },
          logger: silentLogger,
        }),
      ]) {
        const e = await errorOf(attempt);
        expect(e.code).toBe('INVALID_OPTIONS');
        expect(e.message).toMatch(/headers/);
        expect(JSON.stringify({ message: e.message, details: (e as { details?: unknown }).details })).not.toContain(
          password,
        );
      }
    }
  });

  it('never puts query strings of the URL in errors or status', async () => {
    const upstream = await v2Server(['1']);
    try {
      const remote = await createRemoteVersion({
        protocol: 'v2',
        url: `${upstream.url}/?sig=s3cret-query`,
        model: 'm',
        retries: 0,
      });
      const e = await errorOf(remote.predict([[1, 2, 3, 4]]));
      expect(e.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(e.message).not.toContain('s3cret-query');
      expect(JSON.stringify(remote.metadata)).not.toContain('s3cret-query');
      await remote.close();
    } finally {
      await upstream.close();
    }
  });
});

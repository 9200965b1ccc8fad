import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, createHandler, silentLogger, type Deployment, type LocalRegistry } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { postJson } from '../helpers/http.js';
import { deploymentRegistry, loaderWith } from '../helpers/deployments.js';
import { tempDir, tinyMnist } from '../helpers/models.js';

const TOKEN = 'admin-switch-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('admin switch takes only versions of the deployment’s own model', () => {
  let registry: LocalRegistry;
  let deployment: Deployment;
  let server: ModelshipServer;
  let bait: Server;
  let baitUrl: string;
  const baitHits: string[] = [];

  beforeAll(async () => {
    registry = await deploymentRegistry();
    deployment = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      registry,
      stable: 'mnist@production',
      logger: silentLogger,
    });
    server = await serve(createHandler({ models: [deployment], logger: silentLogger, admin: { token: TOKEN } }), {
      port: 0,
      host: '127.0.0.1',
    });
    // A server inside the network the modelship server can reach: an SSRF target that must never be asked anything.
    bait = createServer((req, res) => {
      baitHits.push(req.url ?? '');
      res.end('not a model');
    });
    await new Promise<void>((resolve) => bait.listen(0, '127.0.0.1', resolve));
    baitUrl = `http://127.0.0.1:${(bait.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await server.close();
    await new Promise<void>((resolve) => bait.close(() => resolve()));
  });

  const switchTo = (ref: unknown) => postJson(`${server.url}/admin/deployments/mnist`, { action: 'switch', ref }, auth);

  it('answers 400 INVALID_REF for paths, URLs, other schemes, other models and non-strings, loading nothing', async () => {
    const dir = await tempDir('modelship-admin-');
    const hostile: unknown[] = [
      '/dev/zero',
      '/etc/passwd',
      '/etc/nonexistent',
      `${dir}/model.onnx`,
      './model.onnx',
      '../mnist/1',
      'mnist/../../etc/passwd',
      'model.onnx',
      'file:///etc/passwd',
      'file:/dev/zero',
      `${baitUrl}/model.onnx`,
      `${baitUrl}/v2/models/mnist`,
      's3://bucket/mnist/model.onnx',
      'models:/mnist/1',
      'hf://org/mnist',
      'addone/1',
      'addone@production',
      'other/5',
      'mnist/0',
      'mnist/1/2',
      'mnist@production/1',
      'C:\\models\\mnist.onnx',
      '',
      ' 2',
      'x'.repeat(100_000),
      `mnist@${'a'.repeat(5000)}`,
      5,
      2.5,
      null,
      true,
      ['mnist/2'],
      { ref: 'mnist/2' },
    ];
    for (const ref of hostile) {
      const res = await switchTo(ref);
      expect({ ref, status: res.status, code: res.body.error?.code }).toEqual({
        ref,
        status: 400,
        code: 'INVALID_REF',
      });
      expect(res.body.error.message).toMatch(/"2", "mnist\/2" or "mnist@candidate"/);
      const text = JSON.stringify(res.body);
      for (const secret of ['/etc/', '/dev/', dir, baitUrl, 'root:']) expect(text).not.toContain(secret);
    }
    expect(baitHits).toEqual([]);
    expect(deployment.status().stable).toMatchObject({ version: '1' });
  });

  it('switches to a version or alias of its own model, answering 404 without paths for one that does not exist', async () => {
    const root = (registry as unknown as { root?: string }).root;
    for (const [ref, code] of [
      ['mnist/99', 'VERSION_NOT_FOUND'],
      ['99', 'VERSION_NOT_FOUND'],
      ['mnist@nope', 'ALIAS_NOT_FOUND'],
    ] as const) {
      const res = await switchTo(ref);
      expect({ ref, status: res.status, code: res.body.error?.code }).toEqual({ ref, status: 404, code });
      const text = JSON.stringify(res.body);
      expect(text).not.toMatch(/modelship-deploy-|\/tmp\/|blobs|sha256/);
      if (root) expect(text).not.toContain(root);
    }
    expect((await switchTo('2')).body).toMatchObject({ stable: { version: '2' }, previous: { version: '1' } });
    expect((await switchTo('mnist/1')).body).toMatchObject({ stable: { version: '1' } });
    expect((await switchTo('mnist@candidate')).body).toMatchObject({ stable: { version: '2' } });
    const status = JSON.stringify(
      (await postJson(`${server.url}/admin/deployments/mnist`, { action: 'rollback' }, auth)).body,
    );
    expect(status).not.toMatch(/\/tmp\/|modelship-deploy-/);
  });

  it('refuses every switch over HTTP for a deployment whose stable version is not a registry name, saying why', async () => {
    const file = `${await tempDir('modelship-admin-file-')}/mnist.onnx`;
    await writeFile(file, tinyMnist().onnx);
    const fromFile = await createDeploymentWith(loaderWith(registry), {
      name: 'local-file',
      stable: file,
      logger: silentLogger,
    });
    const handler = createHandler({ models: [fromFile], logger: silentLogger, admin: { token: TOKEN } });
    try {
      for (const ref of ['2', 'mnist/2', file]) {
        const res = await handler(
          new Request('http://x/admin/deployments/local-file', {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ action: 'switch', ref }),
          }),
        );
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(res.status).toBe(400);
        expect(body.error.code).toBe('INVALID_REF');
        expect(body.error.message).toMatch(/switchTo/);
        expect(JSON.stringify(body)).not.toContain(file);
      }
      const status = await handler(new Request('http://x/admin/deployments/local-file', { headers: auth }));
      expect(await status.text()).not.toContain(file);
    } finally {
      await handler.close();
    }
  });
});

describe('admin token', () => {
  it('refuses at start-up a token with whitespace or control characters, or an empty one (INVALID_OPTIONS)', async () => {
    const registry = await deploymentRegistry();
    const d = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      stable: 'mnist/1',
      logger: silentLogger,
    });
    try {
      for (const token of [
        'correct horse battery staple',
        'tab\tseparated-token-0123',
        'line-break-token-0123\n',
        ' leading-space-token-0123',
        'trailing-space-token-0123 ',
        'nbsp\u00a0token-0123456789',
        '',
      ]) {
        let error: unknown;
        try {
          createHandler({ models: [d], closeModels: false, admin: { token } });
        } catch (e) {
          error = e;
        }
        expect(error, JSON.stringify(token)).toMatchObject({ code: 'INVALID_OPTIONS' });
        expect((error as Error).message).toMatch(token === '' ? /at least 16/ : /whitespace/);
        if (token.trim() !== '') expect((error as Error).message).not.toContain(token.trim());
      }
    } finally {
      await d.close();
    }
  });
});

/**
 * `modelship serve --config`: the built command serves a model and a canary deployment from a YAML file over
 * real HTTP (onnxruntime-node workers), and SIGTERM drains a request in flight, then exits 0.
 */
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalRegistry } from 'modelship';
import { call, postJson } from '../helpers/http.js';
import { addOneModel, slowModel, tempDir, tinyMnist } from '../helpers/models.js';
import { digits } from '../helpers/deployments.js';
import type { RunningProcess } from '../helpers/process.js';
import { startCli } from './cli.js';

let dir: string;
let server: RunningProcess;
let url: string;

beforeAll(async () => {
  dir = await tempDir('modelship-cli-serve-');
  const registry = createLocalRegistry({ root: join(dir, 'models') });
  await registry.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['production'] });
  await registry.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['candidate'] });
  await writeFile(join(dir, 'addone.onnx'), addOneModel());
  await writeFile(join(dir, 'slow.onnx'), slowModel());
  // Relative paths are relative to the config file, wherever the command runs from.
  await writeFile(
    join(dir, 'modelship.yaml'),
    `version: 1
registries:
  local:
    type: local
    root: ./models
models:
  addone:
    ref: ./addone.onnx
    workers: 1
  slow:
    ref: ./slow.onnx
    workers: 1
    batching: false
deployments:
  digits:
    registry: local
    stable: digits@production
    canary: { ref: digits@candidate, weight: 0.5 }
    modelOptions: { workers: 1 }
server:
  port: 0
  host: 127.0.0.1
`,
  );
  server = await startCli(['serve', '--config', join(dir, 'modelship.yaml')], {
    cwd: process.cwd(),
    ready: /listening on (http:\/\/\S+)/,
  });
  url = server.match[1] as string;
});

afterAll(async () => {
  await server?.stop();
});

describe('modelship serve --config', () => {
  it('prints one line per model and deployment when ready', () => {
    expect(server.output()).toMatch(/^ready addone version [0-9a-f]{12}$/m);
    expect(server.output()).toMatch(/^ready digits deployment: stable 1, canary 2 \(50%\)$/m);
  });

  it('serves the plain model over HTTP', async () => {
    const res = await postJson(`${url}/models/addone/predict`, { inputs: [[1, 2, 3, 4]] });
    expect(res.status).toBe(200);
    expect(res.body.outputs.y).toEqual([[2, 3, 4, 5]]);
  });

  it('splits the deployment between stable and canary by routing key', async () => {
    const { images, labels } = digits(1);
    const versions = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = await postJson(
        `${url}/models/digits/predict`,
        { inputs: images },
        { 'x-modelship-route-key': `user-${i}` },
      );
      expect(res.status).toBe(200);
      versions.add(res.headers.get('x-modelship-version') as string);
      const scores = res.body.outputs.probabilities[0] as number[];
      expect(scores.indexOf(Math.max(...scores))).toBe(labels[0]);
    }
    expect([...versions].sort()).toEqual(['1', '2']);
    const ready = await call(`${url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('drains a request in flight on SIGTERM, answers it, and exits 0', async () => {
    const body = JSON.stringify({ inputs: Array.from({ length: 64 }, () => new Array(512).fill(1)) });
    const req = request(`${url}/models/slow/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    const answered = new Promise<{ status: number; connection: string | undefined; text: string }>(
      (resolve, reject) => {
        req.once('error', reject);
        req.once('response', (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.once('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }));
        });
      },
    );
    req.end(body);
    await once(req, 'finish');
    // The request is on the wire; a round trip on another connection means the server has read it too.
    expect((await call(`${url}/healthz`)).status).toBe(200);
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    const answer = await answered;
    expect(answer.status).toBe(200);
    expect(answer.connection).toBe('close');
    expect(JSON.parse(answer.text).outputs.y[0]).toHaveLength(512);
    const [code] = await exited;
    expect(code).toBe(0);
    expect(server.output()).toMatch(/SIGTERM: draining/);
    expect(server.output()).toMatch(/^closed$/m);
  });
});

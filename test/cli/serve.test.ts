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
import { addOneModel, tempDir, tinyMnist } from '../helpers/models.js';
import { digits } from '../helpers/deployments.js';
import type { RunningProcess } from '../helpers/process.js';
import { runCli, startCli } from './cli.js';

let dir: string;
let server: RunningProcess;
let url: string;

beforeAll(async () => {
  dir = await tempDir('modelship-cli-serve-');
  const registry = createLocalRegistry({ root: join(dir, 'models') });
  await registry.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['production'] });
  await registry.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['candidate'] });
  await writeFile(join(dir, 'addone.onnx'), addOneModel());
  await writeFile(join(dir, 'admin-token'), `${'t0ken-'.repeat(4)}\n`);
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
deployments:
  digits:
    registry: local
    stable: digits@production
    canary: { ref: digits@candidate, weight: 0.5 }
    modelOptions: { workers: 1 }
server:
  port: 0
  host: 127.0.0.1
  adminTokenFile: ./admin-token
telemetry:
  metrics: true
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

  it('answers /metrics in the Prometheus text format (telemetry.metrics)', async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toMatch(/^# TYPE modelship_\w+ /m);
  });

  it('drives the deployment from a terminal: status, weights, a refused switch, promote, rollback', async () => {
    const admin = (...args: string[]) => runCli([...args, '--url', url, '--token-file', join(dir, 'admin-token')]);
    const status = await admin('status', 'digits');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^stable +1 +digits@production +\S+ +50%/m);
    expect(status.stdout).toMatch(/^canary +2 +digits@candidate +\S+ +50%/m);
    const weights = await admin('weights', 'digits', '0.25');
    expect(weights.code).toBe(0);
    expect(weights.stdout).toMatch(/^canary +2 +\S+ +\S+ +25%/m);
    const refused = await admin('switch', 'digits', 'digits@nowhere');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: ALIAS_NOT_FOUND: /m);
    await writeFile(join(dir, 'wrong-token'), 'w'.repeat(24));
    const wrongToken = await runCli(['status', '--url', url, '--token-file', join(dir, 'wrong-token')]);
    expect(wrongToken.code).toBe(2);
    expect(wrongToken.stderr).toContain('UNAUTHORIZED');
    const notAToken = await runCli(['status', '--url', url, '--token-file', join(dir, 'modelship.yaml')]);
    expect(notAToken.code).toBe(2);
    expect(notAToken.stderr).toContain('error INVALID_OPTIONS: The token file does not hold a token');
    const unknown = await admin('promote', 'nope');
    expect(unknown.code).toBe(2);
    const promoted = await admin('promote', 'digits', '--json');
    expect(promoted.code).toBe(0);
    expect(JSON.parse(promoted.stdout)).toMatchObject({ stable: { version: '2' } });
    expect(JSON.parse(promoted.stdout).canary).toBeUndefined();
    const rolledBack = await admin('rollback', 'digits', '--json');
    expect(rolledBack.code).toBe(0);
    expect(JSON.parse(rolledBack.stdout)).toMatchObject({ stable: { version: '1' } });
  });

  it('drains a request in flight on SIGTERM, answers it, and exits 0', async () => {
    // A request whose body is half sent is in flight for as long as the test wants: the rest goes out only
    // once the server has said it is draining, so the answer must come from the draining server.
    const body = JSON.stringify({ inputs: [[1, 2, 3, 4]] });
    const req = request(`${url}/models/addone/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
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
    await new Promise<void>((resolve) => req.write(body.slice(0, 10), () => resolve()));
    // The headers are on the wire; a round trip on another connection means the server has read them too.
    expect((await call(`${url}/healthz`)).status).toBe(200);
    const exited = once(server.child, 'exit');
    const draining = outputMatching(server, /SIGTERM: draining/);
    server.child.kill('SIGTERM');
    await draining;
    req.end(body.slice(10));
    const answer = await answered;
    expect(answer.status).toBe(200);
    expect(answer.connection).toBe('close');
    expect(JSON.parse(answer.text).outputs.y).toEqual([[2, 3, 4, 5]]);
    const [code] = await exited;
    expect(code).toBe(0);
    expect(server.output()).toMatch(/^closed$/m);
  });
});

/** Resolves when the process's output matches `pattern` (on its output events, not by polling). */
function outputMatching(process: RunningProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!pattern.test(process.output())) return;
      process.child.stdout?.off('data', check);
      resolve();
    };
    process.child.stdout?.on('data', check);
    check();
  });
}

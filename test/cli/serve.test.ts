/**
 * `modelship serve --config`: the built command serves a model and a canary deployment from a YAML file over
 * real HTTP (onnxruntime-node workers), and SIGTERM drains a request in flight, then exits 0. The admin
 * commands against it are in serve-admin.test.ts, `--shadow` in serve-shadow.test.ts.
 */
import { once } from 'node:events';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, postJson } from '../helpers/http.js';
import { digits } from '../helpers/deployments.js';
import { outputMatching, serveConfig, type Served } from './serve-fixture.js';

let served: Served;
let url: string;

beforeAll(async () => {
  served = await serveConfig();
  url = served.url;
});

afterAll(async () => {
  await served?.server.stop();
});

describe('modelship serve --config', () => {
  it('prints one line per model and deployment when ready', () => {
    expect(served.server.output()).toMatch(/^ready addone version [0-9a-f]{12}$/m);
    expect(served.server.output()).toMatch(/^ready digits deployment: stable 1, canary 2 \(50%\)$/m);
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
    const exited = once(served.server.child, 'exit');
    const draining = outputMatching(served.server, /SIGTERM: draining/);
    served.server.child.kill('SIGTERM');
    await draining;
    req.end(body.slice(10));
    const answer = await answered;
    expect(answer.status).toBe(200);
    expect(answer.connection).toBe('close');
    expect(JSON.parse(answer.text).outputs.y).toEqual([[2, 3, 4, 5]]);
    const [code] = await exited;
    expect(code).toBe(0);
    expect(served.server.output()).toMatch(/^closed$/m);
  });
});

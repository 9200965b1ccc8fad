import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, createHandler, loadModel, silentLogger, type Deployment } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { deploymentRegistry, digits, loaderWith } from '../helpers/deployments.js';

const { images } = digits(4);

/** POSTs over `agent` (one keep-alive socket) and resolves with the status once the whole answer arrived. */
function post(agent: Agent, url: string, body: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('a deployment under keep-alive load', () => {
  let deployment: Deployment;
  let server: ModelshipServer;
  let upstream: ModelshipServer;

  beforeAll(async () => {
    const registry = await deploymentRegistry();
    // The canary is a KServe v2 endpoint: another server, reached over HTTP for every request routed to it.
    const remote = await loadModel('mnist/2', { registry, workers: 1, logger: silentLogger });
    upstream = await serve(createHandler({ models: [remote], logger: silentLogger }), { port: 0, host: '127.0.0.1' });
    deployment = await createDeploymentWith(loaderWith(registry), {
      name: 'mnist',
      registry,
      stable: 'mnist/1',
      canary: { ref: { remote: { protocol: 'v2', url: upstream.url, model: 'mnist' } }, weight: 0.5 },
      shadow: { ref: 'mnist/3' },
      guardrails: { minShadowAgreement: 0.1, minRequests: 1_000_000 },
      logger: silentLogger,
    });
    server = await serve(
      createHandler({ models: [deployment], logger: silentLogger, admin: { token: 'keepalive-admin-token-0123' } }),
      { port: 0, host: '127.0.0.1' },
    );
  });
  afterAll(async () => {
    await server.close();
    await upstream.close();
  });

  it('leaves no abort listener per request or per version swapped on the connection signal (no MaxListenersExceededWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    // Counts the abort listeners each signal holds at its peak (what the warning would be about).
    const live = new WeakMap<EventTarget, number>();
    let peak = 0;
    const add = EventTarget.prototype.addEventListener;
    const remove = EventTarget.prototype.removeEventListener;
    EventTarget.prototype.addEventListener = function (this: EventTarget, type: string, ...rest: never[]) {
      if (type === 'abort' && this instanceof AbortSignal) {
        const n = (live.get(this) ?? 0) + 1;
        live.set(this, n);
        peak = Math.max(peak, n);
      }
      return (add as (...a: unknown[]) => void).call(this, type, ...rest);
    } as typeof add;
    EventTarget.prototype.removeEventListener = function (this: EventTarget, type: string, ...rest: never[]) {
      if (type === 'abort' && this instanceof AbortSignal) live.set(this, Math.max(0, (live.get(this) ?? 0) - 1));
      return (remove as (...a: unknown[]) => void).call(this, type, ...rest);
    } as typeof remove;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    try {
      const simple = JSON.stringify({ inputs: [images[0]] });
      const v2 = JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'FP32', data: images[1] }] });
      for (let i = 0; i < 20; i++) {
        expect(
          await post(agent, `${server.url}/models/mnist/predict`, simple, { 'x-modelship-deadline-ms': '5000' }),
        ).toBe(200);
        expect(await post(agent, `${server.url}/v2/models/mnist/infer`, v2)).toBe(200);
        expect(
          await post(agent, `${server.url}/models/mnist/predict`, simple, { 'x-modelship-route-key': `user-${i}` }),
        ).toBe(200);
      }
      // Each switch loads a new version, which the same connection then uses: its listener must go with it.
      for (let i = 0; i < 24; i++) {
        await deployment.switchTo(i % 2 === 0 ? 'mnist/2' : 'mnist/1');
        expect(await post(agent, `${server.url}/models/mnist/predict`, simple)).toBe(200);
      }
      // Let listeners from the warning machinery (emitted on process.nextTick) be seen.
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
      EventTarget.prototype.addEventListener = add;
      EventTarget.prototype.removeEventListener = remove;
      agent.destroy();
    }
    expect(sockets.size).toBe(1);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
    // Stable, previous and the canary's fetch at most: not one per version ever loaded, nor per request.
    expect(peak).toBeLessThanOrEqual(4);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors as undiciErrors, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../../../src/errors/index.js';
import { idleTimer, withRetries } from '../../../src/platform/node/http-client.js';
import { isRetryable, networkError } from '../../../src/platform/node/http-errors.js';
import { WandbGraphqlError } from '../../../src/clients/wandb/graphql.js';

/** What undici throws for `url`, as it really throws it. */
async function thrownBy(url: string): Promise<unknown> {
  try {
    await (await request(url)).body.text();
  } catch (error) {
    return error;
  }
  throw new Error(`expected ${url} to fail`);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('isRetryable', () => {
  // Answers headers and half a body, then cuts the connection: a reset mid-download.
  const cutting = createServer((req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('half');
    setImmediate(() => req.socket.destroy());
  });
  let cutUrl: string;
  let closedUrl: string;
  beforeAll(async () => {
    cutUrl = await listen(cutting);
    const gone = createServer();
    closedUrl = await listen(gone);
    await new Promise<void>((resolve) => gone.close(() => resolve()));
  });
  afterAll(() => new Promise<void>((resolve) => cutting.close(() => resolve())));

  it('retries real network failures: a refused connection, a cut body, fetch failed, the idle timer', async () => {
    expect(isRetryable(await thrownBy(closedUrl))).toBe(true);
    expect(isRetryable(await thrownBy(cutUrl))).toBe(true);
    const fetchFailed = await fetch(closedUrl).catch((e: unknown) => e);
    expect(fetchFailed).toBeInstanceOf(TypeError);
    expect(isRetryable(fetchFailed)).toBe(true);
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN'])
      expect(isRetryable(Object.assign(new Error(code), { code })), code).toBe(true);
    expect(isRetryable(new undiciErrors.HeadersTimeoutError())).toBe(true);
    const timer = idleTimer(1, undefined);
    await new Promise((resolve) => timer.signal.addEventListener('abort', resolve, { once: true }));
    expect(isRetryable(timer.signal.reason)).toBe(true);
  });

  it('retries modelship errors that say the other side is unavailable, and nothing else', () => {
    expect(isRetryable(new ModelshipError('REGISTRY_UNAVAILABLE', 'HTTP 503'))).toBe(true);
    expect(isRetryable(new ModelshipError('UPSTREAM_UNAVAILABLE', 'HTTP 503'))).toBe(true);
    expect(isRetryable(new ModelshipError('REGISTRY_UNAVAILABLE', 'HTTP 400', { retryable: false }))).toBe(false);
    expect(isRetryable(new ModelshipError('MODEL_NOT_FOUND', 'gone'))).toBe(false);
    expect(isRetryable(new ModelshipError('INTERNAL', 'disk', { retryable: true }))).toBe(false);
  });

  it('treats adapter answers and programming errors as final', () => {
    expect(isRetryable(new WandbGraphqlError(200, [{ message: "artifact 'mnist:v9' not found" }]))).toBe(false);
    const aws = Object.assign(new Error('ModelPackage mnist/9 does not exist.'), {
      name: 'ValidationException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    expect(isRetryable(aws)).toBe(false);
    expect(isRetryable(new TypeError('x.map is not a function'))).toBe(false);
    expect(isRetryable(new Error('boom'))).toBe(false);
    expect(isRetryable(new undiciErrors.InvalidArgumentError('invalid method'))).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
    // Mapped by failure() on the way out of an attempt: still final, not "could not reach the server, retry".
    expect(networkError(new TypeError('x.map is not a function'), 'testing').retryable).toBe(false);
    expect(networkError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'testing').retryable).toBe(
      true,
    );
  });

  it('withRetries tries a network failure again but gives up at once on anything else', async () => {
    const policy = { retries: 3, backoff: { baseMs: 1, maxMs: 1 } };
    const tries = async (thrown: unknown): Promise<number> => {
      let n = 0;
      await withRetries(policy, undefined, async () => {
        n++;
        throw thrown;
      }).catch(() => undefined);
      return n;
    };
    expect(await tries(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(4);
    expect(await tries(new WandbGraphqlError(400, [{ message: 'Cannot query field "x" on type "Project".' }]))).toBe(1);
    expect(await tries(new TypeError('undefined is not an object'))).toBe(1);
  });
});

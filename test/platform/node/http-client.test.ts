/**
 * The one HTTP client's retry policy (platform/node/http-client.ts): transient failures only, Retry-After
 * honoured, creates and mutations sent once unless the connection was refused. Fetch doubles answer as servers
 * do; backoff delays are 0-1 ms, so nothing here waits or measures time.
 */
import { describe, expect, it } from 'vitest';
import { createMlflowClient } from '../../../src/clients/mlflow/mlflow-client.js';
import { backoffDelay, parseRetryAfter } from '../../../src/core/backoff.js';
import type { FetchLike } from '../../../src/core/fetch-like.js';
import { ModelshipError } from '../../../src/errors/index.js';
import { createHttpClient, type HttpReply } from '../../../src/platform/node/http-client.js';

/** A fetch answering from `answers` in turn (the last one repeats); counts calls. */
function fetchDouble(answers: (() => Response)[]): { fetch: FetchLike; calls: () => number } {
  let n = 0;
  return {
    fetch: async () => (answers[Math.min(n++, answers.length - 1)] as () => Response)(),
    calls: () => n,
  };
}

const policy = { timeoutMs: 5000, retries: 3, backoff: { baseMs: 1, maxMs: 1 } };
const ok = (reply: HttpReply): string => {
  if (reply.status === 503)
    throw new ModelshipError('REGISTRY_UNAVAILABLE', 'HTTP 503', { details: { retryAfterMs: reply.retryAfterMs } });
  if (reply.status !== 200) throw new Error(`vendor answer ${reply.status}`);
  return reply.text;
};
const refused = (): never => {
  throw Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  });
};

describe('the one retry policy', () => {
  it('retries a transient answer (503 with Retry-After) until it succeeds', async () => {
    const server = fetchDouble([
      () => new Response('busy', { status: 503, headers: { 'retry-after': '0' } }),
      () => new Response('done'),
    ]);
    const http = createHttpClient({ ...policy, fetch: server.fetch });
    expect(await http.send({ method: 'GET', url: 'http://registry.test/x', what: 'testing' }, ok)).toBe('done');
    expect(server.calls()).toBe(2);
  });

  it('sends a vendor answer once: it is final', async () => {
    const server = fetchDouble([() => new Response('no', { status: 400 })]);
    const http = createHttpClient({ ...policy, fetch: server.fetch });
    await expect(http.send({ method: 'GET', url: 'http://registry.test/x', what: 'testing' }, ok)).rejects.toThrow(
      'vendor answer 400',
    );
    expect(server.calls()).toBe(1);
  });

  it('gives up after `retries` transient failures', async () => {
    const server = fetchDouble([() => new Response('busy', { status: 503 })]);
    const http = createHttpClient({ ...policy, fetch: server.fetch });
    await expect(
      http.send({ method: 'GET', url: 'http://registry.test/x', what: 'testing' }, ok),
    ).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(server.calls()).toBe(4);
  });

  it('sends a create once after a 503, but again when the connection was refused (nothing reached the server)', async () => {
    const busy = fetchDouble([() => new Response('busy', { status: 503 })]);
    const create = { method: 'POST', url: 'http://registry.test/create', what: 'creating', idempotent: false } as const;
    await expect(createHttpClient({ ...policy, fetch: busy.fetch }).send(create, ok)).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retryable: false,
    });
    expect(busy.calls()).toBe(1);
    const flaky = fetchDouble([refused, () => new Response('created')]);
    expect(await createHttpClient({ ...policy, fetch: flaky.fetch }).send(create, ok)).toBe('created');
    expect(flaky.calls()).toBe(2);
  });

  it('carries Retry-After to the retry loop, which waits that long (up to maxMs) instead of its own delay', async () => {
    const server = fetchDouble([() => new Response('{}', { status: 429, headers: { 'retry-after': '3' } })]);
    const mlflow = createMlflowClient({
      trackingUri: 'http://mlflow.test',
      fetch: server.fetch,
      timeoutMs: 5000,
      retries: 0,
      backoff: { baseMs: 1, maxMs: 1 },
      env: {},
    });
    await expect(mlflow.rest({ method: 'GET', path: 'registered-models/get', idempotent: true })).rejects.toMatchObject(
      { code: 'REGISTRY_UNAVAILABLE', details: { status: 429, retryAfterMs: 3000 } },
    );
    const slow = { baseMs: 100, maxMs: 10_000 };
    expect(backoffDelay(0, slow, 3000, () => 0)).toBe(3000);
    expect(backoffDelay(0, slow, 60_000, () => 0)).toBe(10_000);
    expect(backoffDelay(3, slow, 10, () => 0)).toBe(400);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
  });
});

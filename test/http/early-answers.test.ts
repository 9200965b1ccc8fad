/**
 * Answers sent before the request body was read (an unknown route, a 405, a body past the limit) over
 * keep-alive connections: the client must get every answer, and no later request on the connection may be
 * reset. Found by the HTTP fuzz test: a 404 to a 1 MB body left the body unread on the connection, and the
 * next request on it was reset.
 */
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, loadModel, silentLogger, type Model } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { addOneModel } from '../helpers/models.js';

const MAX_BODY = 64 * 1024;
const PREDICT = JSON.stringify({ inputs: [[1, 2, 3, 4]] });

describe('early answers on keep-alive connections', () => {
  let model: Model;
  let server: ModelshipServer;
  let connections = 0;

  beforeAll(async () => {
    model = await loadModel(addOneModel(), { name: 'addone', version: '1', workers: 0, logger: silentLogger });
    server = await serve(createHandler({ models: [model], logger: silentLogger, maxBodyBytes: MAX_BODY }), {
      port: 0,
      host: '127.0.0.1',
    });
    server.server.on('connection', () => connections++);
  });

  afterAll(async () => {
    await server?.close();
  });

  async function send(pool: Pool, path: string, body: string | Buffer): Promise<number> {
    const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.body.text();
    return res.statusCode;
  }

  it('answers unknown routes, wrong methods and oversized bodies, then serves the next request on the connection', async () => {
    const pool = new Pool(server.url, { connections: 1, pipelining: 1 });
    const large = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const medium = Buffer.alloc(MAX_BODY + 1, 0x20);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 15; i++) {
        statuses.push(await send(pool, '/no-such-route', large));
        statuses.push(await send(pool, '/predict', PREDICT));
        statuses.push(await send(pool, '/no-such-route', medium));
        statuses.push(await send(pool, '/predict', PREDICT));
        statuses.push(await send(pool, '/predict', large));
        statuses.push(await send(pool, '/predict', PREDICT));
        statuses.push(await send(pool, '/v2/models/addone', 'x'.repeat(500)));
        statuses.push(await send(pool, '/predict', PREDICT));
      }
      expect(new Set(statuses)).toEqual(new Set([404, 200, 413, 405]));
    } finally {
      await pool.close();
    }
  });

  it('keeps the connection after an early answer to a small body (node reads past it)', async () => {
    const pool = new Pool(server.url, { connections: 1, pipelining: 1 });
    try {
      await send(pool, '/predict', PREDICT);
      const before = connections;
      for (let i = 0; i < 20; i++) {
        expect(await send(pool, '/no-such-route', 'y'.repeat(2000))).toBe(404);
        expect(await send(pool, '/v2/models/addone', 'y'.repeat(2000))).toBe(405);
        expect(await send(pool, '/predict', PREDICT)).toBe(200);
      }
      expect(connections - before).toBe(0);
    } finally {
      await pool.close();
    }
  });
});

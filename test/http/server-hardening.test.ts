/**
 * The node:http server under hostile or unlucky clients: shutdown under keep-alive load, clients hanging up
 * mid-upload, absolute-form request lines, many large or slow bodies at once.
 */
import { spawn } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, loadModel, silentLogger, type Logger, type Model } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';
import { addOneModel, slowModel } from '../helpers/models.js';

const PREDICT = JSON.stringify({ inputs: [[1, 2, 3, 4]] });

interface Load {
  /** Requests that were sent on an accepted connection and got no complete answer. */
  readonly failures: string[];
  answered: number;
  /** Resolves once every client has stopped (each stops at its first refused connection). */
  readonly done: Promise<void>;
}

/** One prediction over a node:http keep-alive agent (which, unlike undici, reuses a socket without checking it). */
function agentPredict(url: string, agent: Agent): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/predict`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(PREDICT);
  });
}

/**
 * Keep-alive clients (half undici, half node:http agents) sending predictions back to back until the server
 * refuses a new connection. A refused connection is fine (the server stopped listening); a reset, a hang-up
 * or a non-200 answer is a failure.
 */
function keepAliveLoad(url: string, clients: number, onAnswer: (load: Load) => void): Load {
  const pool = new Pool(url, { connections: clients, pipelining: 1 });
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const load: Load = { failures: [], answered: 0, done: Promise.resolve() };
  const send = async (i: number): Promise<{ status: number; text: string }> => {
    if (i % 2 === 1) return agentPredict(url, agent);
    const res = await pool.request({
      path: '/predict',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: PREDICT,
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const client = async (_: unknown, i: number): Promise<void> => {
    for (;;) {
      try {
        const { status, text } = await send(i);
        if (status !== 200) load.failures.push(`${status} ${text}`);
        load.answered++;
        onAnswer(load);
      } catch (error) {
        const { code, syscall } = error as { code?: string; syscall?: string };
        // Refused, or reset while connecting: a connection still in the kernel's accept queue when the server
        // stopped listening is reset by the kernel (`connect ECONNRESET`); the server never accepted it.
        const neverAccepted = code === 'ECONNREFUSED' || (code === 'ECONNRESET' && syscall === 'connect');
        if (!neverAccepted) load.failures.push(`${code}: ${(error as Error).message}`);
        return;
      }
    }
  };
  (load as { done: Promise<void> }).done = Promise.all(Array.from({ length: clients }, client)).then(() => {
    agent.destroy();
    return pool.destroy();
  });
  return load;
}

/** Sends raw bytes over TCP and resolves with everything the server sent back before closing. */
async function rawExchange(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write(request);
  let text = '';
  socket.setEncoding('utf8').on('data', (d: string) => (text += d));
  await once(socket, 'close');
  return text;
}

/** A raw connection that sent `head` and is kept open, with what the server answers on it. */
function rawOpen(port: number, head: string): { socket: Socket; answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  socket.write(head);
  let text = '';
  socket.setEncoding('utf8').on('data', (d: string) => (text += d));
  socket.on('error', () => undefined);
  return { socket, answer: once(socket, 'close').then(() => text) };
}

/** A full round trip on a fresh connection: every event the server had queued before it has been handled. */
async function barrier(port: number): Promise<void> {
  const text = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(text).toMatch(/^HTTP\/1\.1 200/);
}

function postHead(contentLength: number, connection = 'keep-alive'): string {
  return `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\nConnection: ${connection}\r\n\r\n`;
}

function capture(): Logger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

function counted(rm: ResourceMetrics, name: string, errorType: string): number {
  let sum = 0;
  for (const scope of rm.scopeMetrics) {
    for (const m of scope.metrics) {
      if (m.descriptor.name !== name) continue;
      for (const p of m.dataPoints) if (p.attributes['error.type'] === errorType) sum += p.value as number;
    }
  }
  return sum;
}

describe('node:http server hardening', () => {
  let model: Model;
  const reader = new TestReader();

  beforeAll(async () => {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    model = await loadModel(addOneModel(), { name: 'add', version: '1', workers: 1, logger: silentLogger });
    await model.ready();
  });
  afterAll(async () => {
    await model.close();
    metrics.disable();
  });

  it('close() under keep-alive load answers every accepted request and resets none, 20 times over', async () => {
    for (let round = 0; round < 20; round++) {
      const server = await serve(createHandler({ models: [model], closeModels: false, logger: silentLogger }), {
        port: 0,
        host: '127.0.0.1',
      });
      let closed: Promise<void> | undefined;
      // Close mid-load, from inside the stream of answers, with requests on every connection in flight.
      const load = keepAliveLoad(server.url, 6, (l) => {
        if (l.answered === 30) closed = server.close();
      });
      await load.done;
      await closed;
      expect(load.failures, `round ${round}`).toEqual([]);
      expect(load.answered).toBeGreaterThanOrEqual(30);
    }
  });

  it('a process that closes the server on SIGTERM, as the README shows, exits 0 under load with no reset requests', async () => {
    const script = fileURLToPath(new URL('./fixtures/sigterm-server.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const exited = once(child, 'exit');
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        output += d.toString();
        const m = /listening (http:\/\/\S+)/.exec(output);
        if (m) resolve(m[1] as string);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
    });
    const load = keepAliveLoad(url, 16, (l) => {
      if (l.answered === 200) child.kill('SIGTERM');
    });
    await load.done;
    const [code, signal] = await exited;
    expect({ code, signal, output: output.replace(/listening \S+\n/, '') }).toEqual({
      code: 0,
      signal: null,
      output: '',
    });
    expect(load.failures).toEqual([]);
    expect(load.answered).toBeGreaterThanOrEqual(200);
  });

  describe('client-caused failures', () => {
    let server: ModelshipServer;
    const logger = capture();
    let slow: Model;

    beforeAll(async () => {
      slow = await loadModel(slowModel(), {
        name: 'slow',
        version: '1',
        workers: 1,
        batching: { enabled: false },
        logger: silentLogger,
      });
      await slow.ready();
      server = await serve(createHandler({ models: [model, slow], closeModels: false, logger }), {
        port: 0,
        host: '127.0.0.1',
      });
    });
    afterAll(async () => {
      await server.close();
      await slow.close();
    });

    it('clients hanging up mid-upload are counted as ABORTED and not logged as errors', async () => {
      const before = counted((await reader.collect()).resourceMetrics, 'modelship.http.errors', 'ABORTED');
      const serverSockets = new Map<number, Promise<unknown>>();
      const track = (s: Socket): void =>
        void serverSockets.set(s.remotePort as number, new Promise((r) => s.once('close', r)));
      server.server.on('connection', track);
      const uploads = Array.from({ length: 20 }, () => rawOpen(server.port, `${postHead(10_000)}{"inputs": [[1, 2, `));
      await Promise.all(uploads.map(({ socket }) => once(socket, 'connect')));
      // Every upload's request has reached the handler, which is now reading its body.
      await barrier(server.port);
      for (const { socket } of uploads) socket.destroy();
      await Promise.all(uploads.map(({ socket }) => serverSockets.get(socket.localPort as number)));
      await barrier(server.port);
      server.server.off('connection', track);

      expect(logger.lines.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
      const after = counted((await reader.collect()).resourceMetrics, 'modelship.http.errors', 'ABORTED');
      expect(after - before).toBe(20);
    });

    it('a client hanging up mid-upload through a fetch-style handler is ABORTED too, not an error', async () => {
      const inner = createHandler({ models: [model], closeModels: false, logger });
      // Without the internal entry, serve() goes through a fetch Request and its body stream.
      const fetchOnly = Object.assign((request: Request) => inner(request), { close: () => inner.close() });
      const plain = await serve(fetchOnly as unknown as typeof inner, { port: 0, host: '127.0.0.1' });
      try {
        const closedOnServer: Promise<unknown>[] = [];
        plain.server.on('connection', (s: Socket) => closedOnServer.push(new Promise((r) => s.once('close', r))));
        const upload = rawOpen(plain.port, `${postHead(10_000)}{"inputs": [[1, 2, `);
        await once(upload.socket, 'connect');
        await barrier(plain.port);
        upload.socket.destroy();
        await Promise.all(closedOnServer.slice(0, 1));
        await barrier(plain.port);
        expect(logger.lines.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
        expect(logger.lines.some((l) => l.level === 'debug' && l.message.startsWith('ABORTED'))).toBe(true);
      } finally {
        await plain.close();
      }
    });

    it('a passed deadline (504) is counted and not logged as an error', async () => {
      // 1024 rows: a run long enough (about 0.1–0.5 s) that the late request arrives while it runs even on a loaded
      // machine. With 256 rows, one full npm test saw the run end before the late request's HTTP round trip did;
      // the late one then ran at once on the free worker and was answered (200) within its 1 ms.
      const big = JSON.stringify({ inputs: { x: Array.from({ length: 1024 }, () => new Array(512).fill(1)) } });
      const post = (body: string, headers: Record<string, string> = {}) =>
        fetch(`${server.url}/models/slow/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
      // Waits for the slow run to start, or for its request to settle (a failed request then fails the test with
      // its own error below, instead of this loop spinning until the test times out).
      let settled = false;
      const running = post(big).finally(() => {
        settled = true;
      });
      while (slow.stats().running === 0 && !settled) await new Promise((r) => setImmediate(r));
      const late = await post(JSON.stringify({ inputs: { x: [new Array(512).fill(1)] } }), {
        'x-modelship-deadline-ms': '1',
      });
      expect(late.status).toBe(504);
      expect((await late.json()).error.code).toBe('DEADLINE_EXCEEDED');
      expect((await running).status).toBe(200);
      expect(logger.lines.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
      expect(
        counted((await reader.collect()).resourceMetrics, 'modelship.http.errors', 'DEADLINE_EXCEEDED'),
      ).toBeGreaterThanOrEqual(1);
    });

    it('routes absolute-form request lines (RFC 9112 §3.2.2) by their path', async () => {
      const port = server.port;
      const get = await rawExchange(
        port,
        `GET http://127.0.0.1:${port}/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      );
      expect(get).toMatch(/^HTTP\/1\.1 200/);
      expect(get).toContain('{"status":"ok"}');
      const query = await rawExchange(
        port,
        `GET HTTPS://example.test/models/add?x=1 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n`,
      );
      expect(query).toMatch(/^HTTP\/1\.1 200/);
      const bare = await rawExchange(
        port,
        `GET http://example.test HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n`,
      );
      expect(bare).toMatch(/^HTTP\/1\.1 404/);
      const head = `POST http://x/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n`;
      const post = await rawExchange(port, `${head}Content-Length: ${PREDICT.length}\r\n\r\n${PREDICT}`);
      expect(post).toMatch(/^HTTP\/1\.1 200/);
    });
  });

  describe('in-flight body budget and request timeout', () => {
    it('refuses a body past the server-wide budget without reading it, with Retry-After, and takes it once room is free', async () => {
      const server = await serve(
        createHandler({ models: [model], closeModels: false, maxBodyBytes: 64 * 1024, logger: silentLogger }),
        {
          port: 0,
          host: '127.0.0.1',
          maxInFlightBodyBytes: 100_000,
        },
      );
      try {
        const body = PREDICT.padEnd(60_000, ' ');
        const first = rawOpen(server.port, `${postHead(body.length, 'close')}${body.slice(0, 100)}`);
        await barrier(server.port);
        // 60,000 bytes are on their way; another 60,000 would pass the budget of 100,000.
        const refused = await rawExchange(server.port, postHead(body.length));
        expect(refused).toMatch(/^HTTP\/1\.1 503/);
        expect(refused).toMatch(/retry-after: 1/i);
        expect(refused).toContain('"code":"SERVER_BUSY"');

        first.socket.write(body.slice(100));
        expect(await first.answer).toMatch(/^HTTP\/1\.1 200/);
        const accepted = await fetch(`${server.url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        expect(accepted.status).toBe(200);
        // A single body is never refused by the budget, even one larger than it.
        const alone = await serve(createHandler({ models: [model], closeModels: false, logger: silentLogger }), {
          port: 0,
          host: '127.0.0.1',
          maxInFlightBodyBytes: 1000,
        });
        const big = await fetch(`${alone.url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        expect(big.status).toBe(200);
        await alone.close();
      } finally {
        await server.close();
      }
    });

    it('answers a body that trickles in too slowly with 408 REQUEST_TIMEOUT and closes the connection', async () => {
      const server = await serve(createHandler({ models: [model], closeModels: false, logger: silentLogger }), {
        port: 0,
        host: '127.0.0.1',
        requestTimeoutMs: 200,
      });
      try {
        const slowloris = rawOpen(server.port, `${postHead(1000)}{"inputs": `);
        const answer = await slowloris.answer;
        expect(answer).toMatch(/^HTTP\/1\.1 408/);
        expect(answer).toMatch(/connection: close/i);
        expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      } finally {
        await server.close();
      }
    });

    it('refuses bad budget and timeout options with INVALID_OPTIONS', async () => {
      const handler = createHandler({ models: [model], closeModels: false, logger: silentLogger });
      await expect(serve(handler, { maxInFlightBodyBytes: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
      await expect(serve(handler, { requestTimeoutMs: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    });
  });
});

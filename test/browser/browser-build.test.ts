/**
 * The browser build in real Chromium: loadModel over fetch with the Cache API, integrity checks, progress,
 * shared validation and error codes, queued calls, the cross-origin-isolation warning, the WebGPU fallback,
 * registries, and the Web Worker backend. Outputs are compared with the Node build's.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadModel, silentLogger, toModelshipError, type Model } from 'modelship';
import { sha256Hex } from '../../src/core/digest.js';
import { digitImage } from '../../examples/shared/mnist-data.js';
import { chromiumForTests, launchChromium } from '../helpers/browser.js';
import { tinyMnist } from '../helpers/models.js';
import type { StaticServer } from '../helpers/static-server.js';
import { serveHarness } from './harness.js';

const chromium = chromiumForTests('the browser build tests');
const MODEL = '/models/mnist.onnx';

type Outcome = { ok: true; value: any } | { ok: false; code: string; message: string };

describe.skipIf(!chromium)('modelship/browser in Chromium', () => {
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  let node: Model;
  let sha: string;
  let rows: number[][];
  let consoleLines: string[];

  /** Runs `body` in the page with `window.modelship` as `m`; errors come back as { code, message }. */
  const inPage = <A>(body: string, arg?: A): Promise<Outcome> =>
    page.evaluate(
      async ({ body, arg }) => {
        const m = (window as any).modelship;
        const logs: string[] = ((window as any).logs ??= []);
        const logger = {
          debug: (s: string) => logs.push(`debug: ${s}`),
          info: () => {},
          warn: (s: string) => logs.push(`warn: ${s}`),
          error: () => {},
        };
        const backend = ((window as any).backend ??= m.createOnnxWebBackend({ wasmPaths: '/ort/', logger }));
        try {
          const fn = new Function('m', 'arg', 'backend', 'logger', 'logs', `return (async () => { ${body} })()`);
          return { ok: true as const, value: await fn(m, arg, backend, logger, logs) };
        } catch (e: any) {
          return { ok: false as const, code: String(e?.code ?? e?.name), message: String(e?.message) };
        }
      },
      { body, arg },
    );

  const modelRequests = (): number => server.requests.filter((p) => p === MODEL).length;

  beforeAll(async () => {
    const mnist = tinyMnist();
    sha = await sha256Hex(mnist.onnx);
    rows = Array.from({ length: 6 }, (_, i) => digitImage(mnist.test, i));
    node = await loadModel(mnist.onnx, { logger: silentLogger });
    server = await serveHarness({ 'mnist.onnx': mnist.onnx });
    browser = await launchChromium();
    page = await browser.newPage();
    consoleLines = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await node?.close();
  });

  beforeEach(async () => {
    consoleLines.length = 0;
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready]', { state: 'attached' });
  });

  it('loads a model by URL with download progress and predicts like the Node build (1e-5)', async () => {
    const before = modelRequests();
    const out = await inPage<number[][]>(
      `const progress = [];
       await m.clearModelCache();
       const model = await m.loadModel('${MODEL}', { backend, onProgress: (p) => progress.push(p) });
       await model.ready();
       const r = await model.predict({ pixels: arg });
       return { name: model.name, version: model.version, sha256: model.sha256, progress,
                probabilities: r.probabilities.toArray(), label: r.label.toArray(), signature: model.signature };`,
      rows,
    );
    if (!out.ok) throw new Error(`${out.code}: ${out.message}`);
    const { value } = out;
    expect(modelRequests()).toBe(before + 1);
    expect(value.name).toBe('mnist');
    expect(value.sha256).toBe(sha);
    expect(value.version).toBe(sha.slice(0, 12));
    expect(value.signature).toEqual(node.signature);
    const size = tinyMnist().onnx.byteLength;
    expect(value.progress[0]).toMatchObject({ loaded: 0, total: size, cached: false });
    expect(value.progress.at(-1)).toMatchObject({ loaded: size, total: size, cached: false });
    const loaded = value.progress.map((p: { loaded: number }) => p.loaded);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));

    const expected = await node.predict(rows);
    expect(value.label).toEqual(expected.label?.toArray());
    const want = expected.probabilities?.toArray() as number[][];
    value.probabilities.forEach((row: number[], i: number) =>
      row.forEach((p, k) => expect(Math.abs(p - (want[i]?.[k] as number))).toBeLessThanOrEqual(1e-5)),
    );
  });

  it('finds a model loaded by URL in the cache after a reload: no request, one "cached" progress event', async () => {
    await inPage(`await m.clearModelCache(); await m.loadModel('${MODEL}', { backend });`);
    await page.reload();
    await page.waitForSelector('body[data-ready]', { state: 'attached' });
    const before = modelRequests();
    const out = await inPage(
      `const progress = [];
       const model = await m.loadModel('${MODEL}', { backend, onProgress: (p) => progress.push(p) });
       return { progress, sha256: model.sha256 };`,
    );
    expect(out).toMatchObject({ ok: true, value: { sha256: sha } });
    expect(modelRequests()).toBe(before);
    const size = tinyMnist().onnx.byteLength;
    expect((out as { value: any }).value.progress).toEqual([
      { url: `${server.url}${MODEL}`, loaded: size, total: size, cached: true },
    ]);
  });

  it('drops a corrupted cache entry with INTEGRITY_MISMATCH; the next load downloads a fresh copy', async () => {
    const out = await inPage(
      `await m.clearModelCache();
       await m.loadModel('${MODEL}', { backend, sha256: arg });
       const cache = await caches.open('modelship-models');
       const key = 'https://modelship.invalid/sha256/' + arg;
       await cache.put(key, new Response(new Uint8Array([1, 2, 3])));
       let error;
       try { await m.loadModel('${MODEL}', { backend, sha256: arg }); } catch (e) { error = { code: e.code, message: e.message }; }
       const dropped = (await cache.match(key)) === undefined;
       const again = await m.loadModel('${MODEL}', { backend, sha256: arg });
       return { error, dropped, sha256: again.sha256, restored: (await cache.match(key)) !== undefined };`,
      sha,
    );
    expect(out.ok).toBe(true);
    const value = (out as { value: any }).value;
    expect(value.error.code).toBe('INTEGRITY_MISMATCH');
    expect(value.error.message).toContain('removed from the cache');
    expect(value).toMatchObject({ dropped: true, sha256: sha, restored: true });
  });

  it('refuses a download whose sha256 is not the pinned one (INTEGRITY_MISMATCH) and caches nothing', async () => {
    const wrong = 'ab'.repeat(32);
    const out = await inPage(
      `await m.clearModelCache();
       let error;
       try { await m.loadModel('${MODEL}', { backend, sha256: arg }); } catch (e) { error = { code: e.code, message: e.message }; }
       const keys = (await (await caches.open('modelship-models')).keys()).map((r) => r.url);
       return { error, keys };`,
      wrong,
    );
    const value = (out as { value: any }).value;
    expect(value.error.code).toBe('INTEGRITY_MISMATCH');
    expect(value.error.message).toContain(`has sha256 ${sha}, but ${wrong} was expected`);
    expect(value.keys).toEqual([]);
  });

  it('validates inputs with the same codes and messages as the Node build', async () => {
    const cases: unknown[] = [
      [[1, 2, 3]],
      { pixels: 'x' },
      { nope: [[1]] },
      [Array.from({ length: 784 }, (_, i) => (i === 17 ? 'x' : 0))],
    ];
    for (const input of cases) {
      const web = await inPage(
        `const model = await m.loadModel('${MODEL}', { backend }); await model.predict(arg);`,
        input,
      );
      const local = await node.predict(input as never).then(
        () => ({ ok: true }),
        (e: unknown) => ({ ok: false, code: toModelshipError(e).code, message: toModelshipError(e).message }),
      );
      expect(web).toEqual(local);
      expect(web.ok).toBe(false);
    }
  });

  it('queues concurrent calls on one session and answers each one correctly', async () => {
    const out = await inPage<number[][]>(
      `const model = await m.loadModel('${MODEL}', { backend });
       await model.ready();
       const all = await Promise.all(Array.from({ length: 24 }, (_, i) => model.predict([arg[i % arg.length]])));
       return all.map((r) => r.label.toArray()[0]);`,
      rows,
    );
    const expected = (await node.predict(rows)).label?.toArray() as number[];
    expect(out).toEqual({ ok: true, value: Array.from({ length: 24 }, (_, i) => expected[i % rows.length]) });
  });

  it('runs single-threaded on a page that is not cross-origin isolated, and says so once', async () => {
    const out = await inPage(
      `const a = await m.loadModel('${MODEL}', { backend, name: 'a' });
       const b = await m.loadModel('${MODEL}', { backend, name: 'b' });
       await Promise.all([a.ready(), b.ready()]);
       return { isolated: crossOriginIsolated, warnings: logs.filter((l) => l.includes('cross-origin isolated')) };`,
    );
    expect(out).toMatchObject({ ok: true, value: { isolated: false } });
    const { warnings } = (out as { value: { warnings: string[] } }).value;
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('Cross-Origin-Embedder-Policy: require-corp');
  });

  it('falls back to WebAssembly when WebGPU is requested but the browser has no adapter', async () => {
    const out = await inPage<number[][]>(
      `const model = await m.loadModel('${MODEL}', { backend, session: { executionProviders: ['webgpu', 'wasm'] } });
       const r = await model.predict([arg[0]]);
       return { label: r.label.toArray(), gpu: 'gpu' in navigator, debug: logs.filter((l) => l.includes('WebGPU')) };`,
      rows,
    );
    const expected = (await node.predict([rows[0] as number[]])).label?.toArray();
    expect(out).toMatchObject({ ok: true, value: { label: expected } });
    expect((out as { value: { debug: string[] } }).value.debug[0]).toContain(
      'WebGPU was requested but this browser offers no WebGPU adapter',
    );
  });

  it('resolves named references in options.registry and caches their bytes by sha256', async () => {
    const out = await inPage(
      `await m.clearModelCache();
       let fetches = 0;
       const registry = {
         specificationVersion: 'v1', kind: 'test',
         async resolve(ref) { return { name: 'digits', version: '3', sha256: arg, aliases: ['production'], metadata: {}, ref, location: '${MODEL}' }; },
         async fetch(resolved) { fetches++; return { kind: 'bytes', bytes: new Uint8Array(await (await fetch(resolved.location)).arrayBuffer()) }; },
       };
       const first = await m.loadModel('digits@production', { backend, registry });
       const second = await m.loadModel('digits@production', { backend, registry });
       let noRegistry;
       try { await m.loadModel('digits@production', { backend }); } catch (e) { noRegistry = e.code; }
       return { fetches, first: [first.name, first.version, first.source.registry], second: second.sha256, noRegistry };`,
      sha,
    );
    expect(out).toEqual({
      ok: true,
      value: { fetches: 1, first: ['digits', '3', 'test'], second: sha, noRegistry: 'INVALID_REF' },
    });
  });

  it('reports a missing model as MODEL_NOT_FOUND and bad options as INVALID_OPTIONS', async () => {
    const missing = await inPage(`await m.loadModel('/models/nope.onnx', { backend });`);
    expect(missing).toMatchObject({ ok: false, code: 'MODEL_NOT_FOUND' });
    const bad = await inPage(`await m.loadModel('${MODEL}', { backend, onProgress: 3 });`);
    expect(bad).toMatchObject({ ok: false, code: 'INVALID_OPTIONS' });
    expect((bad as { message: string }).message).toContain('onProgress must be a function');
    const badRegistry = await inPage(
      `await m.loadModel('digits@production', { backend, registry: { resolve() {} } });`,
    );
    expect(badRegistry).toMatchObject({ ok: false, code: 'INVALID_OPTIONS' });
    expect((badRegistry as { message: string }).message).toContain('registry must implement resolve() and fetch()');
  });

  it('runs models in a Web Worker with the same outputs and error codes', async () => {
    const out = await inPage<number[][]>(
      `const worker = new Worker('/worker/worker.js', { type: 'module' });
       const wb = m.createWorkerBackend(worker);
       const model = await m.loadModel('${MODEL}', { backend: wb });
       await model.ready();
       const r = await model.predict({ pixels: arg });
       let error;
       try { await model.predict([[1, 2]]); } catch (e) { error = e.code; }
       await model.close();
       wb.close();
       let closed;
       try { await m.loadModel('${MODEL}', { backend: wb }); } catch (e) { closed = e.code; }
       return { probabilities: r.probabilities.toArray(), error, closed };`,
      rows,
    );
    if (!out.ok) throw new Error(`${out.code}: ${out.message}`);
    const want = (await node.predict(rows)).probabilities?.toArray() as number[][];
    out.value.probabilities.forEach((row: number[], i: number) =>
      row.forEach((p, k) => expect(Math.abs(p - (want[i]?.[k] as number))).toBeLessThanOrEqual(1e-5)),
    );
    expect(out.value.error).toBe('INVALID_INPUT');
    expect(out.value.closed).toBe('ABORTED');
    expect(consoleLines.filter((l) => l.startsWith('error'))).toEqual([]);
  });
});

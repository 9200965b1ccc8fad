/**
 * Many models in one process: real ONNX models on disk loaded by onnxruntime-node through `loadModel`, a budget
 * in models and in bytes, lazy loads, LRU eviction of idle models only, failures that stay with their model.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createModelRepository, loadModel, silentLogger, type ModelRepository } from 'modelship';
import { addOneModel, tempDir } from '../../helpers/models.js';
import { rejection } from '../../helpers/errors.js';

let dir: string;
let bytes: number;
const open: ModelRepository[] = [];

beforeAll(async () => {
  dir = await tempDir('modelship-repo-');
  const model = addOneModel();
  bytes = model.byteLength;
  for (const name of ['a', 'b', 'c']) await writeFile(join(dir, `${name}.onnx`), model);
  await writeFile(join(dir, 'broken.onnx'), new TextEncoder().encode('not an onnx model'));
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

function repo(extra: { maxLoadedModels?: number; maxLoadedBytes?: number; names?: string[] } = {}): ModelRepository {
  const names = extra.names ?? ['a', 'b', 'c'];
  const r = createModelRepository({
    models: Object.fromEntries(names.map((n) => [n, join(dir, `${n}.onnx`)])),
    load: (ref) => loadModel(ref, { workers: 0, logger: silentLogger, warmup: false }),
    ...(extra.maxLoadedModels === undefined ? {} : { maxLoadedModels: extra.maxLoadedModels }),
    ...(extra.maxLoadedBytes === undefined ? {} : { maxLoadedBytes: extra.maxLoadedBytes }),
  });
  open.push(r);
  return r;
}

const model = (r: ModelRepository, name: string) => r.models.find((m) => m.name === name)!;
const predict = async (r: ModelRepository, name: string): Promise<number[]> => {
  const m = model(r, name);
  if ('routed' in m) throw new Error('not a model');
  const out = await m.predict({ x: [[1, 2, 3, 4]] });
  return [...(out.y!.data as Float32Array)];
};
const loadedNames = (r: ModelRepository) =>
  r
    .index({ ready: true })
    .map((e) => e.name)
    .sort();

describe('model repository', () => {
  it('loads nothing until a model is asked for, then loads it once for concurrent first requests', async () => {
    const r = repo();
    expect(r.stats().loadedModels).toBe(0);
    expect(r.index().map((e) => [e.name, e.state])).toEqual([
      ['a', 'UNAVAILABLE'],
      ['b', 'UNAVAILABLE'],
      ['c', 'UNAVAILABLE'],
    ]);
    const answers = await Promise.all([predict(r, 'a'), predict(r, 'a'), predict(r, 'a')]);
    expect(answers).toEqual([
      [2, 3, 4, 5],
      [2, 3, 4, 5],
      [2, 3, 4, 5],
    ]);
    expect(r.stats()).toMatchObject({ loadedModels: 1, loadedBytes: bytes, loads: 1 });
    expect(r.index({ ready: true })).toEqual([
      { name: 'a', version: model(r, 'a').version, state: 'READY', reason: '' },
    ]);
  });

  it('keeps at most maxLoadedModels loaded, unloading the least recently used idle one', async () => {
    const r = repo({ maxLoadedModels: 2 });
    const seen: number[] = [];
    const unloaded: string[] = [];
    r.on('load', () => seen.push(r.stats().loadedModels));
    r.on('unload', (e) => unloaded.push(`${e.name}:${e.reason}`));
    await predict(r, 'a');
    await predict(r, 'b');
    await predict(r, 'a'); // a is now more recent than b
    await predict(r, 'c');
    expect(unloaded).toEqual(['b:evicted']);
    expect(loadedNames(r)).toEqual(['a', 'c']);
    await predict(r, 'b');
    expect(unloaded).toEqual(['b:evicted', 'a:evicted']);
    expect(Math.max(...seen)).toBeLessThanOrEqual(2);
    expect(r.stats()).toMatchObject({ loadedModels: 2, loads: 4, evictions: 2, unloads: 2 });
    expect(r.index().find((e) => e.name === 'a')).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded' });
  });

  it('keeps the loaded bytes within maxLoadedBytes', async () => {
    const r = repo({ maxLoadedBytes: 2 * bytes });
    const seen: number[] = [];
    r.on('load', () => seen.push(r.stats().loadedBytes));
    for (const name of ['a', 'b', 'c', 'a', 'b']) expect(await predict(r, name)).toEqual([2, 3, 4, 5]);
    expect(Math.max(...seen, r.stats().loadedBytes)).toBeLessThanOrEqual(2 * bytes);
    expect(r.stats().loadedModels).toBe(2);
  });

  it('never unloads a model with a request in flight: the load waits for nothing and fails retryably', async () => {
    const r = repo({ maxLoadedModels: 1 });
    await r.load('a');
    const inFlight = predict(r, 'a'); // counted synchronously
    const busy = await rejection(predict(r, 'b'));
    expect(busy.code).toBe('SERVER_BUSY');
    expect(busy.retryable).toBe(true);
    expect(await inFlight).toEqual([2, 3, 4, 5]);
    expect(await predict(r, 'b')).toEqual([2, 3, 4, 5]); // a is idle now: evicted for b
    expect(loadedNames(r)).toEqual(['b']);
  });

  it('lets an explicit unload finish the requests in flight first', async () => {
    const r = repo();
    await r.load('a');
    const inFlight = predict(r, 'a');
    expect(await r.unload('a')).toBe(true);
    expect(await inFlight).toEqual([2, 3, 4, 5]);
    expect(await r.unload('a')).toBe(false);
    expect(r.stats().loadedModels).toBe(0);
    expect(await predict(r, 'a')).toEqual([2, 3, 4, 5]); // loads again on demand
  });

  it('keeps the other models serving when one fails to load', async () => {
    const r = repo({ names: ['a', 'broken'], maxLoadedModels: 2 });
    const failed: string[] = [];
    r.on('load-failed', (e) => failed.push(`${e.name}:${e.error.code}`));
    await predict(r, 'a');
    const error = await rejection(predict(r, 'broken'));
    expect(failed).toEqual([`broken:${error.code}`]);
    expect(error.message).not.toContain(dir);
    expect(await predict(r, 'a')).toEqual([2, 3, 4, 5]);
    expect(r.index().find((e) => e.name === 'broken')).toEqual({
      name: 'broken',
      state: 'UNAVAILABLE',
      reason: error.code,
    });
    expect(r.stats()).toMatchObject({ loadedModels: 1, loadFailures: 1 });
  });

  it('settles concurrent loads and unloads of one model in order, consistently', async () => {
    const r = repo({ maxLoadedModels: 1 });
    const results = await Promise.allSettled([r.load('a'), r.unload('a'), r.load('a'), r.unload('a'), r.load('a')]);
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(loadedNames(r)).toEqual(['a']);
    expect(r.stats()).toMatchObject({ loadedModels: 1, loads: 3, unloads: 2 });
    const mixed = await Promise.allSettled([r.load('b'), r.load('c'), predict(r, 'a')]);
    expect(r.stats().loadedModels).toBeLessThanOrEqual(1);
    expect(mixed.some((x) => x.status === 'fulfilled')).toBe(true);
  });

  it('refuses unknown and path-like names with MODEL_NOT_FOUND, and such names in options', async () => {
    const r = repo();
    for (const name of ['nope', '../a', 'a/../../etc/passwd', '__proto__', 'constructor', 'x'.repeat(5000)]) {
      const e = await rejection(r.load(name));
      expect(e.code).toBe('MODEL_NOT_FOUND');
      expect(e.message.length).toBeLessThan(300);
      expect((await rejection(r.unload(name))).code).toBe('MODEL_NOT_FOUND');
    }
    expect(() => createModelRepository({ models: { '../a': 'x.onnx' }, load: loadModel })).toThrow(
      /Invalid createModelRepository options/,
    );
    expect(() => createModelRepository({ models: {}, load: loadModel })).toThrow(/at least one/);
    expect(() => createModelRepository({ models: { a: 'a.onnx' }, load: loadModel, preload: ['b'] })).toThrow(
      /not in models/,
    );
  });

  it('closes every model and refuses loads afterwards', async () => {
    const r = repo();
    await Promise.all([r.load('a'), r.load('b')]);
    await r.close();
    expect(r.stats().loadedModels).toBe(0);
    expect((await rejection(r.load('a'))).code).toBe('NOT_READY');
    expect(model(r, 'a').state).toBe('closed');
  });
});

import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLocalRegistry, loadModel, silentLogger, type LocalRegistry } from 'modelship';
import { evaluate } from '../../examples/shared/train.js';
import { IMAGE_SIZE } from '../../examples/shared/mnist-data.js';
import { addOneModel, tempDir, tempFile, tinyMnist } from '../helpers/models.js';
import { rejection } from '../helpers/errors.js';

describe('loadModel', () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = createLocalRegistry({ root: await tempDir() });
    await registry.publish({
      name: 'mnist',
      bytes: tinyMnist().onnx,
      aliases: ['production'],
      metadata: { accuracy: tinyMnist().accuracy },
    });
    await registry.publish({ name: 'mnist', bytes: addOneModel(), aliases: ['candidate'] });
  });

  it('loads by alias, reads the signature from the model and predicts real digits correctly', async () => {
    const model = await loadModel('mnist@production', { registry });
    await model.ready();
    expect(model.state).toBe('ready');
    expect([model.name, model.version]).toEqual(['mnist', '1']);
    expect(model.source).toMatchObject({ ref: 'mnist@production', registry: 'local', aliases: ['production'] });
    expect(model.metadata).toMatchObject({ accuracy: tinyMnist().accuracy });
    expect(model.signature).toEqual({
      inputs: [{ name: 'pixels', dtype: 'float32', shape: [null, 784], dimNames: ['batch', null] }],
      outputs: [
        { name: 'probabilities', dtype: 'float32', shape: [null, 10], dimNames: ['batch', null] },
        { name: 'label', dtype: 'int64', shape: [null], dimNames: ['batch'] },
      ],
    });
    const { test, layers } = tinyMnist();
    const n = 50;
    const rows = Array.from({ length: n }, (_, i) =>
      Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)),
    );
    const out = await model.predict(rows);
    const expected = evaluate(layers, {
      images: test.images.subarray(0, n * IMAGE_SIZE),
      labels: test.labels.subarray(0, n),
      count: n,
    });
    expect(out.label?.toArray()).toEqual(Array.from(expected.predictions));
    expect(out.probabilities?.shape).toEqual([n, 10]);
    await model.close();
    expect(model.state).toBe('closed');
  });

  it('loads by version and latest, and serves what it resolved', async () => {
    const v1 = await loadModel('mnist/1', { registry });
    const latest = await loadModel('mnist', { registry, warmup: false });
    expect(v1.version).toBe('1');
    expect(latest.version).toBe('2');
    const out = await latest.predict({ x: [[1, 2, 3, 4]] });
    expect(out.y?.toArray()).toEqual([[2, 3, 4, 5]]);
    await Promise.all([v1.close(), latest.close()]);
  });

  it('loads a path, a file: URL and raw bytes', async () => {
    const path = await tempFile(addOneModel(), 'add-one.onnx');
    for (const ref of [path, pathToFileURL(path), addOneModel()]) {
      const model = await loadModel(ref);
      expect(model.signature.inputs[0]?.name).toBe('x');
      expect(model.version).toBe(model.sha256.slice(0, 12));
      await model.close();
    }
    const named = await loadModel(path, { name: 'adder', version: '7' });
    expect([named.name, named.version]).toEqual(['adder', '7']);
    await named.close();
  });

  it('refuses a model whose file no longer matches its recorded sha256, before loading it', async () => {
    const reg = createLocalRegistry({ root: await tempDir() });
    await reg.publish({ name: 'm', bytes: addOneModel() });
    const resolved = await reg.resolve('m');
    const bytes = await readFile(resolved.location);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    await writeFile(resolved.location, bytes);
    const e = await rejection(loadModel('m', { registry: reg }));
    expect(e.code).toBe('INTEGRITY_MISMATCH');
    expect(e.details).toMatchObject({ expected: resolved.sha256 });
  });

  it('checks an expected sha256 given for a path', async () => {
    const path = await tempFile(addOneModel());
    const e = await rejection(loadModel(path, { sha256: 'a'.repeat(64) }));
    expect(e.code).toBe('INTEGRITY_MISMATCH');
  });

  it('turns corrupt or truncated ONNX bytes into MODEL_LOAD_FAILED, not a crash', async () => {
    const garbage = await rejection(
      loadModel(new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\n')),
    );
    expect(garbage.code).toBe('MODEL_LOAD_FAILED');
    expect(garbage.message).toContain('onnxruntime could not load the model');
    const truncated = await rejection(loadModel(tinyMnist().onnx.subarray(0, 1000)));
    expect(truncated.code).toBe('MODEL_LOAD_FAILED');
  });

  it('reports missing files, models, versions and aliases with their codes', async () => {
    expect((await rejection(loadModel('./does-not-exist.onnx'))).code).toBe('MODEL_NOT_FOUND');
    expect((await rejection(loadModel('nope', { registry }))).code).toBe('MODEL_NOT_FOUND');
    expect((await rejection(loadModel('mnist/9', { registry }))).code).toBe('VERSION_NOT_FOUND');
    expect((await rejection(loadModel('mnist@staging', { registry }))).code).toBe('ALIAS_NOT_FOUND');
    expect((await rejection(loadModel('mnist/x', { registry }))).code).toBe('INVALID_REF');
  });

  it('uses ./models (or $MODELSHIP_MODELS_DIR) when no registry is given', async () => {
    const root = await tempDir();
    await createLocalRegistry({ root }).publish({ name: 'adder', bytes: addOneModel(), aliases: ['production'] });
    const previous = process.env.MODELSHIP_MODELS_DIR;
    process.env.MODELSHIP_MODELS_DIR = root;
    try {
      const model = await loadModel('adder@production');
      expect(model.version).toBe('1');
      await model.close();
    } finally {
      if (previous === undefined) delete process.env.MODELSHIP_MODELS_DIR;
      else process.env.MODELSHIP_MODELS_DIR = previous;
    }
  });

  it('refuses invalid options with INVALID_OPTIONS', async () => {
    const path = await tempFile(addOneModel());
    const e = await rejection(loadModel(path, { maxRows: -1 } as never));
    expect(e.code).toBe('INVALID_OPTIONS');
    expect(e.message).toContain('maxRows');
    expect((await rejection(loadModel(path, { bogus: 1 } as never))).code).toBe('INVALID_OPTIONS');
    for (const bad of [
      { workers: -1 },
      { workers: 1.5 },
      { batching: { maxBatchSize: 0 } },
      { batching: { maxQueueDelayMs: -1 } },
      { batching: { maxBatchSize: 4, preferredBatchSizes: [8] } },
      { batching: { maxQueueSize: 0 } },
      { batching: true },
    ]) {
      const error = await rejection(loadModel(path, bad as never));
      expect(error.code, JSON.stringify(bad)).toBe('INVALID_OPTIONS');
    }
  });

  it('refuses bad per-call deadline and priority with INVALID_ARGUMENT', async () => {
    const model = await loadModel(addOneModel(), { workers: 1 });
    for (const options of [{ deadlineMs: 0 }, { deadlineMs: Number.NaN }, { deadlineMs: -5 }, { priority: 'urgent' }]) {
      const error = await rejection(model.predict([[1, 2, 3, 4]], options as never));
      expect(error.code, JSON.stringify(options)).toBe('INVALID_ARGUMENT');
    }
    expect((await model.predict([[1, 2, 3, 4]], { deadlineMs: 10_000, priority: 'high' })).y?.toArray()).toEqual([
      [2, 3, 4, 5],
    ]);
    await model.close();
  });

  it('fails ready() when warm-up with given inputs fails, and keeps refusing work', async () => {
    const model = await loadModel(addOneModel(), { warmup: { inputs: [[1, 2, 3]] } });
    const e = await rejection(model.ready());
    expect(e.code).toBe('MODEL_LOAD_FAILED');
    expect(model.state).toBe('failed');
    expect((await rejection(model.predict([[1, 2, 3, 4]]))).code).toBe('MODEL_LOAD_FAILED');
    await model.close();
  });

  it('warns but serves when synthesized warm-up fails', async () => {
    const warnings: string[] = [];
    // Reshape to [-1, 3] fails for a batch of one row of 4, which is what warm-up synthesizes.
    const { writeOnnxModel } = await import('../../examples/shared/onnx-writer.js');
    const bytes = writeOnnxModel({
      inputs: [{ name: 'x', type: 'float32', shape: ['n', 4] }],
      outputs: [{ name: 'y', type: 'float32', shape: null }],
      initializers: [{ name: 's', dims: [2], data: new BigInt64Array([-1n, 8n]) }],
      nodes: [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }],
    });
    const model = await loadModel(bytes, { logger: { ...silentLogger, warn: (m: string) => warnings.push(m) } });
    await model.ready();
    expect(model.state).toBe('ready');
    expect(warnings.join()).toContain('Warm-up');
    const out = await model.predict([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(out.y?.shape).toEqual([1, 8]);
    await model.close();
  });

  it('close() lets in-flight calls finish and then refuses new ones with NOT_READY', async () => {
    const model = await loadModel(addOneModel());
    await model.ready();
    const calls = Array.from({ length: 20 }, (_, i) => model.predict([[i, i, i, i]]));
    const closed = model.close();
    const late = await rejection(model.predict([[0, 0, 0, 0]]));
    expect(late.code).toBe('NOT_READY');
    expect(late.retryable).toBe(true);
    const results = await Promise.all(calls);
    expect(results.map((r) => (r.y?.toArray() as number[][])[0]?.[0])).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    await closed;
    expect(model.state).toBe('closed');
  });

  it('supports await using', async () => {
    let escaped: { state: string } | undefined;
    {
      await using model = await loadModel(addOneModel());
      await model.ready();
      escaped = model;
      expect(model.state).toBe('ready');
    }
    expect(escaped.state).toBe('closed');
  });

  it('selects outputs and refuses unknown output names', async () => {
    const model = await loadModel('mnist@production', { registry });
    const digit = Array.from(tinyMnist().test.images.subarray(0, IMAGE_SIZE));
    const only = await model.predict([digit], { outputs: ['label'] });
    expect(Object.keys(only)).toEqual(['label']);
    const e = await rejection(model.predict([digit], { outputs: ['logits'] }));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toContain('Unknown output "logits"');
    await model.close();
  });

  it('honours an aborted signal', async () => {
    const model = await loadModel(addOneModel());
    const e = await rejection(model.predict([[1, 2, 3, 4]], { signal: AbortSignal.abort() }));
    expect(e.code).toBe('ABORTED');
    await model.close();
  });
});

describe('the onnxruntime-node backend', () => {
  it('maps the runtime refusing a feed to INVALID_INPUT with a message free of runtime source paths', async () => {
    const { createOnnxNodeBackend } = await import('modelship/node');
    // Feeds normally arrive validated; a backend used directly still classifies the runtime's refusal.
    const session = await createOnnxNodeBackend().createSession({ bytes: addOneModel() });
    const e = await rejection(session.run({ x: { dtype: 'float32', shape: [1, 3], data: new Float32Array(3) } }));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toMatch(/invalid dimensions for input: x/i);
    expect(e.message).not.toMatch(/\.cc|\.h:|onnxruntime_src|ONNXRuntimeError/);
    const out = await session.run({ x: { dtype: 'float32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) } });
    expect(Array.from(out.y?.data as Float32Array)).toEqual([2, 3, 4, 5]);
    await session.release();
  });

  it('accepts anything for an input declared without a shape and leaves the check to the model', async () => {
    const { writeOnnxModel } = await import('../../examples/shared/onnx-writer.js');
    const bytes = writeOnnxModel({
      inputs: [{ name: 's', type: 'float32', shape: [] }],
      outputs: [{ name: 'y', type: 'float32', shape: null }],
      nodes: [{ op: 'Neg', inputs: ['s'], outputs: ['y'] }],
    });
    const model = await loadModel(bytes);
    // onnxruntime reports a rank-0 input with the same empty shape as an undeclared one.
    expect(model.signature.inputs[0]?.shape).toBeNull();
    expect((await model.predict(2)).y?.toArray()).toBe(-2);
    expect((await model.predict([1, 2])).y?.toArray()).toEqual([-1, -2]);
    await model.close();
  });
});

import { execFileSync } from 'node:child_process';
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/node.js';
import { ModelshipError } from '../../src/errors/index.js';
import { readModelFile } from '../../src/platform/node/read-model-file.js';
import { createLocalRegistry, type LocalRegistry } from '../../src/registries/local/index.js';
import { addOneModel, tempDir } from '../helpers/models.js';

async function errorOf(promise: Promise<unknown>): Promise<ModelshipError> {
  try {
    await promise;
  } catch (error) {
    expect(ModelshipError.isInstance(error), String(error)).toBe(true);
    return error as ModelshipError;
  }
  throw new Error('expected a failure');
}

describe('the local registry against damaged or hostile files', () => {
  let root: string;
  let registry: LocalRegistry;
  beforeEach(async () => {
    root = await tempDir();
    registry = createLocalRegistry({ root });
    await registry.publish({ name: 'm', bytes: addOneModel(), aliases: ['production'] });
    await registry.publish({ name: 'm', bytes: addOneModel(), aliases: ['candidate'] });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('still loads pinned versions when aliases.json is corrupt; alias lookups name the file', async () => {
    await writeFile(join(root, 'm', 'aliases.json'), '{"production": "1", ');
    expect(await registry.resolve('m/2')).toMatchObject({ name: 'm', version: '2', aliases: [] });
    expect(await registry.resolve('m')).toMatchObject({ version: '2' });
    expect(await registry.getVersion('m', '1')).toMatchObject({ version: '1' });
    const model = await loadModel('m/2', { registry, warmup: false });
    expect(model.version).toBe('2');
    await model.close();
    const error = await errorOf(registry.resolve('m@production'));
    expect(error.message).toMatch(/aliases\.json is corrupt/);
    expect(error.details?.file).toBe(join(root, 'm', 'aliases.json'));
  });

  it('refuses "__proto__" keys whose value is not a version instead of following them', async () => {
    for (const text of [
      '{"__proto__": "../../../etc"}',
      '{"__proto__": {"x": "1"}}',
      '{"production": "1", "__proto__": ["2"]}',
    ]) {
      await writeFile(join(root, 'm', 'aliases.json'), text);
      const error = await errorOf(registry.resolve('m@__proto__'));
      expect(error.message, text).toMatch(/aliases\.json is corrupt/);
      expect((await registry.resolve('m/1')).version).toBe('1');
    }
    // A well-formed "__proto__" alias is an ordinary alias.
    await writeFile(join(root, 'm', 'aliases.json'), '{"__proto__": "1"}');
    expect(await registry.resolve('m@__proto__')).toMatchObject({ version: '1', aliases: ['__proto__'] });
    expect(Object.getPrototypeOf(await registry.getAliases('m'))).toBe(Object.prototype);
  });

  it('refuses a model.onnx that is a symlink to /dev/zero or a FIFO, without reading it', async () => {
    const file = join(root, 'm', '1', 'model.onnx');
    await rm(file);
    await symlink('/dev/zero', file);
    const resolved = await registry.resolve('m/1');
    expect((await errorOf(registry.fetch(resolved))).code).toBe('INTEGRITY_MISMATCH');
    expect((await errorOf(loadModel('m/1', { registry, warmup: false }))).code).toBe('INTEGRITY_MISMATCH');
    // A FIFO blocks on open and never ends: refused from its type, the open never waits for a writer.
    const fifo = join(root, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await rm(file);
    await symlink(fifo, file);
    expect((await errorOf(registry.fetch(resolved))).code).toBe('INTEGRITY_MISMATCH');
  });

  it('loadModel reads only regular files', async () => {
    expect((await errorOf(readModelFile('/dev/zero'))).code).toBe('MODEL_LOAD_FAILED');
    const fifo = join(root, 'pipe.onnx');
    execFileSync('mkfifo', [fifo]);
    expect((await errorOf(readModelFile(fifo))).code).toBe('MODEL_LOAD_FAILED');
    expect((await errorOf(readModelFile(root))).code).toBe('MODEL_NOT_FOUND');
    const path = join(root, 'm', '1', 'model.onnx');
    expect(Buffer.from(await readModelFile(path))).toEqual(await readFile(path));
  });
});

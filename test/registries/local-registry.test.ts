import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelshipError } from '../../src/errors/index.js';
import { sha256File } from '../../src/platform/node/fs-atomic.js';
import { createLocalRegistry, type LocalRegistry } from '../../src/registries/local/index.js';
import type { ResolvedModel } from '../../src/spec/registry.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/registry-worker.ts', import.meta.url));

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

async function expectCode(
  promise: Promise<unknown> | (() => unknown),
  code: string,
  message?: RegExp,
): Promise<ModelshipError> {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    error = e;
  }
  expect(ModelshipError.isInstance(error), `expected a ModelshipError ${code}, got ${String(error)}`).toBe(true);
  const e = error as ModelshipError;
  expect(e.code).toBe(code);
  if (message) expect(e.message).toMatch(message);
  return e;
}

interface WorkerHandle {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly done: Promise<unknown[]>;
}

/** Forks the worker with an IPC channel; it waits for "go" after reporting ready. */
function startWorker(command: Record<string, unknown>): WorkerHandle {
  const child = fork(worker, [JSON.stringify(command)], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const done = new Promise<unknown[]>((resolve, reject) => {
    let results: unknown[] | undefined;
    child.on('message', (message: { type: string; results?: unknown[]; message?: string }) => {
      if (message.type === 'ready') onReady();
      else if (message.type === 'done') results = message.results;
      else if (message.type === 'error') reject(new Error(`worker failed: ${message.message}`));
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (results !== undefined && code === 0) resolve(results);
      else reject(new Error(`worker exited with code ${code}, signal ${signal}`));
    });
  });
  return { child, ready, done };
}

async function runTogether(commands: Record<string, unknown>[]): Promise<unknown[][]> {
  const workers = commands.map(startWorker);
  await Promise.all(workers.map((w) => w.ready));
  for (const w of workers) w.child.send('go');
  return Promise.all(workers.map((w) => w.done));
}

let dir: string;
let root: string;
let registry: LocalRegistry;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-local-'));
  root = join(dir, 'models');
  registry = createLocalRegistry({ root });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createLocalRegistry', () => {
  it('validates options', async () => {
    await expectCode(() => createLocalRegistry({} as never), 'INVALID_OPTIONS', /root/);
    await expectCode(() => createLocalRegistry({ root: dir, lockStaleMs: 5 }), 'INVALID_OPTIONS', /lockStaleMs/);
    await expectCode(() => createLocalRegistry({ root: dir, rooot: 'x' } as never), 'INVALID_OPTIONS');
    expect(registry).toMatchObject({ kind: 'local', specificationVersion: 'v1', root });
  });

  it('treats a registry directory that does not exist yet as empty', async () => {
    expect(await registry.listModels()).toEqual([]);
    await expectCode(registry.resolve('mnist'), 'MODEL_NOT_FOUND', /empty.*publish/s);
  });
});

describe('publish', () => {
  it('assigns versions 1, 2, … and records sha256, size and metadata', async () => {
    const a = bytesOf('first model');
    const b = bytesOf('second model, longer');
    const first = await registry.publish({ name: 'mnist', bytes: a, metadata: { accuracy: 0.98 }, source: 'run-1' });
    const second = await registry.publish({ name: 'mnist', bytes: b });
    expect(first).toMatchObject({
      name: 'mnist',
      version: '1',
      sha256: sha(a),
      size: a.byteLength,
      aliases: [],
      metadata: { accuracy: 0.98 },
    });
    expect(second).toMatchObject({ version: '2', sha256: sha(b), size: b.byteLength });
    expect(new Date(first.createdAt ?? '').toISOString()).toBe(first.createdAt);

    const meta = JSON.parse(await readFile(join(root, 'mnist', '1', 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).toEqual({
      name: 'mnist',
      version: '1',
      sha256: sha(a),
      size: a.byteLength,
      createdAt: first.createdAt,
      metadata: { accuracy: 0.98 },
      source: 'run-1',
      format: 'onnx',
    });
    expect(new Uint8Array(await readFile(join(root, 'mnist', '2', 'model.onnx')))).toEqual(b);
    expect(await registry.listModels()).toEqual(['mnist']);
  });

  it('publishes from a file, hashing what it copies', async () => {
    const content = Buffer.alloc(3 * 1024 * 1024 + 7, 'abc');
    const file = join(dir, 'model.onnx');
    await writeFile(file, content);
    const published = await registry.publish({ name: 'big', file });
    expect(published.sha256).toBe(sha(content));
    expect(published.size).toBe(content.byteLength);
    expect(await sha256File(join(root, 'big', '1', 'model.onnx'))).toEqual({
      sha256: sha(content),
      size: content.byteLength,
    });
  });

  it('sets aliases given at publish time', async () => {
    const published = await registry.publish({
      name: 'm',
      bytes: bytesOf('x'),
      aliases: ['production', 'candidate', 'production'],
    });
    expect(published.aliases).toEqual(['candidate', 'production']);
    expect(await registry.getAliases('m')).toEqual({ candidate: '1', production: '1' });
  });

  it('rejects bad input before writing anything', async () => {
    const bytes = bytesOf('x');
    await expectCode(registry.publish({ name: '../evil', bytes }), 'INVALID_ARGUMENT', /model name/);
    await expectCode(registry.publish({ name: 'a/b', bytes }), 'INVALID_ARGUMENT');
    await expectCode(registry.publish({ name: 'm', bytes, aliases: ['latest'] }), 'INVALID_ARGUMENT', /reserved/);
    await expectCode(registry.publish({ name: 'm', bytes, aliases: ['v3'] }), 'INVALID_ARGUMENT', /reserved/);
    await expectCode(registry.publish({ name: 'm' }), 'INVALID_ARGUMENT', /file .*or bytes/);
    await expectCode(registry.publish({ name: 'm', bytes, file: join(dir, 'x.onnx') }), 'INVALID_ARGUMENT', /both/);
    await expectCode(registry.publish({ name: 'm', file: join(dir, 'missing.onnx') }), 'INVALID_ARGUMENT', /not found/);
    await expectCode(registry.publish({ name: 'm', file: dir }), 'INVALID_ARGUMENT', /not a regular file/);
    await writeFile(join(dir, 'empty.onnx'), '');
    await expectCode(registry.publish({ name: 'm', file: join(dir, 'empty.onnx') }), 'INVALID_ARGUMENT', /empty/);
    await expectCode(registry.publish({ name: 'm', bytes: new Uint8Array(0) }), 'INVALID_ARGUMENT', /empty/);
    await expectCode(registry.publish({ name: 'm', bytes, metadata: { n: 1n } }), 'INVALID_ARGUMENT', /JSON/);
    await expect(stat(root)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('honours an aborted signal', async () => {
    await expectCode(registry.publish({ name: 'm', bytes: bytesOf('x') }, { signal: AbortSignal.abort() }), 'ABORTED');
  });

  it('removes staging directories abandoned more than an hour ago, and only those', async () => {
    await registry.publish({ name: 'm', bytes: bytesOf('x') });
    const old = join(root, 'm', '.staging-old');
    const fresh = join(root, 'm', '.staging-fresh');
    await mkdir(old);
    await mkdir(fresh);
    await writeFile(join(old, 'model.onnx'), 'partial');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(old, 'model.onnx'), twoHoursAgo, twoHoursAgo);
    await utimes(old, twoHoursAgo, twoHoursAgo);
    await registry.publish({ name: 'm', bytes: bytesOf('y') });
    const entries = await readdir(join(root, 'm'));
    expect(entries).not.toContain('.staging-old');
    expect(entries).toContain('.staging-fresh');
  });
});

describe('resolve and fetch', () => {
  beforeEach(async () => {
    await registry.publish({ name: 'mnist', bytes: bytesOf('one'), metadata: { run: 1 } });
    await registry.publish({ name: 'mnist', bytes: bytesOf('two'), aliases: ['candidate'] });
    await registry.setAlias('mnist', 'production', '1');
  });

  it('resolves name, name/latest, name@latest, name/<version> and name@alias', async () => {
    for (const ref of ['mnist', 'mnist/latest', 'mnist@latest']) {
      expect(await registry.resolve(ref)).toMatchObject({ name: 'mnist', version: '2', ref, aliases: ['candidate'] });
    }
    const one = await registry.resolve('mnist/1');
    expect(one).toEqual({
      name: 'mnist',
      version: '1',
      ref: 'mnist/1',
      sha256: sha(bytesOf('one')),
      size: 3,
      aliases: ['production'],
      metadata: { run: 1 },
      createdAt: expect.any(String),
      location: join(root, 'mnist', '1', 'model.onnx'),
    });
    expect(await registry.resolve('mnist@production')).toMatchObject({ version: '1', ref: 'mnist@production' });
    expect(await registry.resolve('mnist@candidate')).toMatchObject({ version: '2' });
  });

  it('fetches the model file and checks its size', async () => {
    const model = await registry.resolve('mnist@production');
    const artifact = await registry.fetch(model);
    expect(artifact).toEqual({ kind: 'file', path: model.location });
    expect(await readFile(artifact.path, 'utf8')).toBe('one');
    await truncate(model.location, 1);
    await expectCode(registry.fetch(model), 'INTEGRITY_MISMATCH');
  });

  it('rejects malformed references with INVALID_REF', async () => {
    for (const ref of ['', '../evil', 'mnist/v3', 'mnist/0', 'mnist/1@production', 'mnist@', '/abs/path']) {
      await expectCode(registry.resolve(ref), 'INVALID_REF');
    }
  });

  it('reports what exists when something is missing', async () => {
    await expectCode(registry.resolve('fashion'), 'MODEL_NOT_FOUND', /mnist/);
    await expectCode(registry.resolve('fashion@production'), 'MODEL_NOT_FOUND');
    const version = await expectCode(registry.resolve('mnist/7'), 'VERSION_NOT_FOUND', /1, 2/);
    expect(version.details).toMatchObject({ name: 'mnist', version: '7', available: ['1', '2'] });
    await expectCode(registry.resolve('mnist@staging'), 'ALIAS_NOT_FOUND', /candidate → 2.*production → 1/);
    await expectCode(registry.getVersion('mnist', '7'), 'VERSION_NOT_FOUND');
    await expectCode(registry.getVersion('fashion', '1'), 'MODEL_NOT_FOUND');
    await expectCode(registry.listVersions('fashion'), 'MODEL_NOT_FOUND');
    await expectCode(registry.getAliases('fashion'), 'MODEL_NOT_FOUND');
  });

  it('ignores version directories without meta.json and dot-directories', async () => {
    await mkdir(join(root, 'mnist', '9'));
    await writeFile(join(root, 'mnist', '9', 'model.onnx'), 'half written');
    await mkdir(join(root, 'mnist', '.staging-abc'));
    await mkdir(join(root, '.hidden', '1'), { recursive: true });
    expect((await registry.resolve('mnist')).version).toBe('2');
    expect((await registry.listVersions('mnist')).map((v) => v.version)).toEqual(['1', '2']);
    await expectCode(registry.resolve('mnist/9'), 'VERSION_NOT_FOUND');
    expect(await registry.listModels()).toEqual(['mnist']);
  });

  it('turns a corrupt meta.json or aliases.json into a typed error naming the file', async () => {
    const metaFile = join(root, 'mnist', '1', 'meta.json');
    await writeFile(metaFile, '{"name": "mnist", "vers');
    const e = await expectCode(registry.resolve('mnist/1'), 'INTERNAL', /meta\.json/);
    expect(e.message).toContain(metaFile);
    await expectCode(registry.listVersions('mnist'), 'INTERNAL', /meta\.json/);
    await writeFile(
      metaFile,
      JSON.stringify({ name: 'mnist', version: '1', sha256: 'nope', size: -1, createdAt: 'x' }),
    );
    await expectCode(registry.resolve('mnist@production'), 'INTERNAL', /meta\.json.*sha256/s);

    await writeFile(join(root, 'mnist', 'aliases.json'), '[oops');
    await expectCode(registry.resolve('mnist@candidate'), 'INTERNAL', /aliases\.json/);
    await writeFile(join(root, 'mnist', 'aliases.json'), '{"production": 3}');
    await expectCode(registry.resolve('mnist@production'), 'INTERNAL', /aliases\.json/);
    // A pinned version does not depend on the alias file.
    expect(await registry.resolve('mnist/2')).toMatchObject({ version: '2', aliases: [] });
  });
});

describe('aliases and versions', () => {
  beforeEach(async () => {
    for (const text of ['a', 'bb', 'ccc']) await registry.publish({ name: 'm', bytes: bytesOf(text) });
  });

  it('sets, moves and deletes aliases', async () => {
    await registry.setAlias('m', 'production', '1');
    await registry.setAlias('m', 'candidate', '3');
    expect(await registry.getAliases('m')).toEqual({ production: '1', candidate: '3' });
    await registry.setAlias('m', 'production', '2');
    expect((await registry.resolve('m@production')).version).toBe('2');
    await registry.deleteAlias('m', 'candidate');
    expect(await registry.getAliases('m')).toEqual({ production: '2' });
    expect(JSON.parse(await readFile(join(root, 'm', 'aliases.json'), 'utf8'))).toEqual({ production: '2' });
    await expectCode(registry.resolve('m@candidate'), 'ALIAS_NOT_FOUND');
  });

  it('stores aliases named like Object.prototype members', async () => {
    await registry.setAlias('m', '__proto__', '2');
    await registry.setAlias('m', 'constructor', '3');
    expect((await registry.resolve('m@__proto__')).version).toBe('2');
    expect(Object.keys(await registry.getAliases('m')).sort()).toEqual(['__proto__', 'constructor']);
    await expectCode(registry.deleteAlias('m', 'toString'), 'ALIAS_NOT_FOUND');
  });

  it('validates alias operations', async () => {
    await expectCode(registry.setAlias('m', 'latest', '1'), 'INVALID_ARGUMENT', /reserved/);
    await expectCode(registry.setAlias('m', 'v3', '1'), 'INVALID_ARGUMENT', /reserved/);
    await expectCode(registry.setAlias('m', 'prod', 'abc'), 'INVALID_ARGUMENT', /version/);
    await expectCode(registry.setAlias('../evil', 'prod', '1'), 'INVALID_ARGUMENT');
    await expectCode(registry.setAlias('m', 'prod', '9'), 'VERSION_NOT_FOUND', /1, 2, 3/);
    await expectCode(registry.setAlias('other', 'prod', '1'), 'MODEL_NOT_FOUND');
    await expectCode(registry.deleteAlias('m', 'prod'), 'ALIAS_NOT_FOUND', /no aliases yet/);
    await expectCode(registry.deleteAlias('other', 'prod'), 'MODEL_NOT_FOUND');
  });

  it('lists versions in numeric order with their aliases', async () => {
    for (let i = 4; i <= 11; i++) await registry.publish({ name: 'm', bytes: bytesOf(`v${i}`) });
    await registry.setAlias('m', 'production', '10');
    await registry.setAlias('m', 'candidate', '10');
    const versions = await registry.listVersions('m');
    expect(versions.map((v) => v.version)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);
    expect(versions[9]).toMatchObject({
      name: 'm',
      version: '10',
      aliases: ['candidate', 'production'],
      sha256: sha(bytesOf('v10')),
      size: 3,
    });
    expect(versions[0]?.aliases).toEqual([]);
    expect(await registry.getVersion('m', '10')).toEqual(versions[9]);
  });

  it('keeps every alias when many updates run at once in one process', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `alias_${i}`);
    await Promise.all(names.map((alias, i) => registry.setAlias('m', alias, String((i % 3) + 1))));
    const aliases = await registry.getAliases('m');
    expect(Object.keys(aliases).sort()).toEqual([...names].sort());
    names.forEach((alias, i) => expect(aliases[alias]).toBe(String((i % 3) + 1)));
  });
});

describe('watch', () => {
  it('reports an alias move', async () => {
    await registry.publish({ name: 'm', bytes: bytesOf('a'), aliases: ['production'] });
    await registry.publish({ name: 'm', bytes: bytesOf('b') });
    const current = await registry.resolve('m@production');
    let stop = (): void => undefined;
    const next = new Promise<ResolvedModel>((resolve) => {
      stop = registry.watch('m@production', resolve, { intervalMs: 5, since: current });
    });
    await registry.setAlias('m', 'production', '2');
    try {
      expect(await next).toMatchObject({ name: 'm', version: '2', ref: 'm@production', aliases: ['production'] });
    } finally {
      stop();
    }
  });

  it('reports a new latest version and a model that appears after watching started', async () => {
    const errors: ModelshipError[] = [];
    let baseline!: () => void;
    const polledOnce = new Promise<void>((resolve) => (baseline = resolve));
    const seen: string[] = [];
    let onChange!: (model: ResolvedModel) => void;
    let changed = new Promise<ResolvedModel>((resolve) => (onChange = resolve));
    const stop = registry.watch(
      'm',
      (model) => {
        seen.push(model.version);
        onChange(model);
      },
      {
        intervalMs: 5,
        onError: (error) => {
          errors.push(error);
          baseline();
        },
      },
    );
    try {
      await polledOnce; // the first poll found nothing, which is the baseline
      expect(errors[0]?.code).toBe('MODEL_NOT_FOUND');
      await registry.publish({ name: 'm', bytes: bytesOf('a') });
      expect((await changed).version).toBe('1');
      changed = new Promise<ResolvedModel>((resolve) => (onChange = resolve));
      await registry.publish({ name: 'm', bytes: bytesOf('b') });
      expect((await changed).version).toBe('2');
      expect(seen).toEqual(['1', '2']);
    } finally {
      stop();
    }
  });

  it('keeps polling through errors and reports them instead of throwing', async () => {
    await registry.publish({ name: 'm', bytes: bytesOf('a'), aliases: ['production'] });
    const current = await registry.resolve('m@production');
    await writeFile(join(root, 'm', 'aliases.json'), 'garbage');
    let stop = (): void => undefined;
    const error = await new Promise<ModelshipError>((resolve) => {
      stop = registry.watch('m@production', () => undefined, { intervalMs: 5, since: current, onError: resolve });
    });
    stop();
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toContain('aliases.json');
    expect(() => registry.watch('bad/ref/x', () => undefined)).toThrow(/Invalid model reference/);
  });
});

describe('across processes', () => {
  it('leaves no visible version when a publisher is killed mid-publish', async () => {
    const file = join(dir, 'large.onnx');
    await writeFile(file, Buffer.alloc(50 * 1024 * 1024, 'modelship'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', worker, JSON.stringify({ op: 'publish-file', root, name: 'big', file })],
      {
        cwd: repoRoot,
        stdio: 'ignore',
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    let running = true;
    void exited.then(() => (running = false));
    // Observe (not synchronize): poll the model directory until the publisher's staging dir shows up.
    let sawStaging = false;
    while (running && !sawStaging) {
      const entries = await readdir(join(root, 'big')).catch(() => [] as string[]);
      sawStaging = entries.some((e) => e.startsWith('.staging-'));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(sawStaging).toBe(true);

    const entries = await readdir(join(root, 'big'));
    expect(entries.filter((e) => /^\d+$/.test(e))).toEqual([]);
    expect(await registry.listModels()).toEqual([]);
    await expectCode(registry.resolve('big'), 'MODEL_NOT_FOUND');
    await expectCode(registry.listVersions('big'), 'MODEL_NOT_FOUND');
    const published = await registry.publish({ name: 'big', bytes: bytesOf('after the crash') });
    expect(published.version).toBe('1');
  });

  it('gives 20 distinct, intact versions to 4 processes publishing 5 times each at once', async () => {
    const results = await runTogether(
      Array.from({ length: 4 }, (_, w) => ({
        op: 'publish-bytes',
        root,
        name: 'shared',
        tag: `worker${w}`,
        count: 5,
        size: 256 * 1024,
      })),
    );
    const claimed = results.flat().map((r) => (r as { version: string }).version);
    expect(claimed.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    const versions = await registry.listVersions('shared');
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
    for (const v of versions) {
      const onDisk = await sha256File(join(root, 'shared', v.version, 'model.onnx'));
      expect(onDisk).toEqual({ sha256: v.sha256, size: v.size });
      const meta = JSON.parse(await readFile(join(root, 'shared', v.version, 'meta.json'), 'utf8')) as {
        version: string;
      };
      expect(meta.version).toBe(v.version);
    }
    expect(new Set(versions.map((v) => v.sha256)).size).toBe(20);
    expect((await readdir(join(root, 'shared'))).filter((e) => e.startsWith('.staging-'))).toEqual([]);
  });

  it('loses no alias when several processes update aliases at once', async () => {
    for (const text of ['a', 'b', 'c']) await registry.publish({ name: 'm', bytes: bytesOf(text) });
    const plan = Array.from({ length: 4 }, (_, w) =>
      Array.from({ length: 6 }, (_, j): [string, string] => [`w${w}_alias${j}`, String(((w + j) % 3) + 1)]),
    );
    await runTogether(plan.map((aliases) => ({ op: 'set-aliases', root, name: 'm', aliases })));
    expect(await registry.getAliases('m')).toEqual(Object.fromEntries(plan.flat()));
  });
});

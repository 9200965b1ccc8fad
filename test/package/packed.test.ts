/**
 * The package as `npm pack` makes it, installed into fresh projects: what the tarball holds, its types as
 * @arethetypeswrong/cli sees them for ESM consumers, and README.md's first snippet compiled by `tsc` under
 * `"moduleResolution": "bundler"` (Next.js, Vite) and `"node16"`, plus `modelship/testing` for adapter authors.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOnnxModel } from '../../examples/shared/onnx-writer.js';
import { runCommand } from '../helpers/run.js';
import { codeBlocks } from '../docs/markdown.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
let work: string;
let tarball: string;

// dist/ is built by test/global-setup.ts; `npm pack` only collects it.
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'modelship-packed-'));
  const out = await runCommand('npm', ['pack', '--json', '--pack-destination', work], { cwd: root });
  const [{ filename }] = JSON.parse(out.slice(out.indexOf('['))) as [{ filename: string }];
  tarball = join(work, filename);
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** A fresh project with the tarball installed and modelship's dependencies linked from this repository. */
async function freshProject(name: string, pkg: Record<string, unknown>): Promise<string> {
  const dir = join(work, name);
  const modules = join(dir, 'node_modules');
  await mkdir(join(modules, 'modelship'), { recursive: true });
  await runCommand('tar', ['-xzf', tarball, '-C', join(modules, 'modelship'), '--strip-components=1'], { cwd: dir });
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  // Offline and fast: the same versions npm would install, linked instead of downloaded.
  for (const dep of [...Object.keys(manifest.dependencies), '@types/node', 'vitest']) {
    await mkdir(join(modules, dep, '..'), { recursive: true });
    await symlink(join(root, 'node_modules', dep), join(modules, dep), 'dir');
  }
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, private: true, ...pkg }));
  return dir;
}

describe('the packed package', () => {
  it('holds dist (no source maps, no build stamp), the docs, README.md and LICENSE', async () => {
    const list = (await runCommand('tar', ['-tzf', tarball], { cwd: work })).trim().split('\n');
    const files = list.map((f) => f.replace(/^package\//, ''));
    expect(files.filter((f) => !/^(dist|docs)\/|^(README\.md|LICENSE|package\.json)$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map') || f.includes('.build-stamp'))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'dist/testing.js', 'dist/testing.d.ts']));
    expect(await readFile(join(root, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
  });

  it('imports vitest only from modelship/testing (an optional peer the library never loads)', async () => {
    const dir = await freshProject('vitest-free', { type: 'module' });
    const dist = join(dir, 'node_modules', 'modelship', 'dist');
    const importers: string[] = [];
    for (const file of await readdir(dist)) {
      if (!file.endsWith('.js')) continue;
      if (/from\s*["']vitest["']|import\(\s*["']vitest["']/.test(await readFile(join(dist, file), 'utf8')))
        importers.push(file);
    }
    expect(importers).toEqual(['testing.js']);
  });

  it('has types that @arethetypeswrong/cli finds correct for ESM consumers', async () => {
    // CommonJS resolutions are the documented "ESM only" case (README.md, "Package"); everything else must pass.
    await runCommand(bin('attw'), [tarball, '--profile', 'esm-only', '--no-definitely-typed', '--no-color'], {
      cwd: work,
    });
  });

  it.each([
    ['bundler', { module: 'ESNext', moduleResolution: 'Bundler' }],
    ['node16', { module: 'Node16', moduleResolution: 'Node16' }],
  ])('compiles README.md first snippet under "moduleResolution": "%s"', async (name, resolution) => {
    const dir = await freshProject(`readme-${name}`, { type: 'module' });
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const first = codeBlocks(readme).find((b) => b.lang === 'ts');
    expect(first?.code).toMatch(/from 'modelship'/);
    await writeFile(join(dir, 'context.d.ts'), 'declare const row: number[];\n');
    await writeFile(join(dir, 'index.ts'), `${first?.code}\nexport {};\n`);
    // What a Next.js or Vite app sets, and what `tsc --init` sets for Node.
    const compilerOptions = { ...resolution, target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true };
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions, files: ['index.ts', 'context.d.ts'] }),
    );
    await runCommand(bin('tsc'), ['-p', dir], { cwd: dir });
  });

  it('gives adapter authors the contract suites from modelship/testing', async () => {
    const dir = await freshProject('adapter', { type: 'module' });
    const code = [
      "import { testRegistry, testTracker, type RegistryFixture, type TrackerHarness } from 'modelship/testing';",
      "import { createLocalRegistry } from 'modelship';",
      'declare const harness: () => Promise<TrackerHarness>;',
      "testRegistry('local', async (): Promise<RegistryFixture> => ({",
      "  registry: createLocalRegistry({ root: './models' }),",
      "  seed: async () => '1',",
      '  moveAlias: async () => undefined,',
      '}));',
      "testTracker('mine', harness);",
    ].join('\n');
    await writeFile(join(dir, 'adapter.test.ts'), code);
    const compilerOptions = { module: 'Node16', moduleResolution: 'Node16', strict: true, noEmit: true };
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { ...compilerOptions, skipLibCheck: true, target: 'ES2022' },
        files: ['adapter.test.ts'],
      }),
    );
    await runCommand(bin('tsc'), ['-p', dir], { cwd: dir });
  });

  it('loads in CommonJS as README.md says: require() on Node >= 20.19, import() everywhere', async () => {
    const dir = await freshProject('commonjs', { type: 'commonjs' });
    const script = [
      "const viaRequire = require('modelship');",
      "import('modelship').then((viaImport) => console.log(JSON.stringify([typeof viaRequire.loadModel, typeof viaImport.loadModel])));",
    ].join('\n');
    await writeFile(join(dir, 'main.cjs'), script);
    const out = await runCommand(process.execPath, ['main.cjs'], { cwd: dir });
    expect(JSON.parse(out.trim().split('\n').pop() as string)).toEqual(['function', 'function']);
  });

  it('answers DEPENDENCY_MISSING with the offline install command where onnxruntime-node is not installed', async () => {
    const dir = await freshProject('no-runtime', { type: 'module' });
    const bytes = writeOnnxModel({
      inputs: [{ name: 'x', type: 'float32', shape: ['n', 2] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['n', 2] }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
    });
    await writeFile(join(dir, 'relu.onnx'), bytes);
    const script = `
      import { loadModel } from 'modelship';
      try { await loadModel('./relu.onnx'); console.log('loaded'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
    `;
    await writeFile(join(dir, 'main.mjs'), script);
    const out = await runCommand(process.execPath, ['main.mjs'], { cwd: dir });
    const { code, message } = JSON.parse(out.trim().split('\n').pop() as string) as { code: string; message: string };
    expect(code).toBe('DEPENDENCY_MISSING');
    expect(message).toContain('npm install onnxruntime-node');
    expect(message).toContain('ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node');
  });
});

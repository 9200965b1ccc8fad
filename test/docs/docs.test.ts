/**
 * The docs as CI checks them: the API reference site (`npm run docs`, typedoc over the public entries and the
 * guides) builds with no warning — every public export documented, no broken link between guides, no link to
 * a name that is not exported — and the built site has no broken link; every TypeScript block in README.md and
 * docs/*.md compiles against the package as users import it; and no code block uses syntax Node 20 rejects.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../helpers/run.js';
import { guides, mapDiagnostics, writeSnippets } from './doc-snippets.js';
import { codeBlocks } from './markdown.js';
import { brokenLinks } from './site-links.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
const temps: string[] = [];
afterAll(() => Promise.all(temps.map((t) => rm(t, { recursive: true, force: true }))));

describe('the docs', () => {
  it('build into an API reference site with no warning and no broken link', async () => {
    const out = await mkdtemp(join(tmpdir(), 'modelship-docs-site-'));
    temps.push(out);
    // typedoc.json sets treatWarningsAsErrors: any warning (an undocumented export, a broken link) fails the run.
    await runCommand(bin('typedoc'), ['--out', out, '--logLevel', 'Warn'], { cwd: root });
    expect(await brokenLinks(out)).toEqual([]);
  }, 180_000); // typedoc and tsc each take 15–50 s on a busy 2-core machine

  it("has TypeScript blocks that compile against the package's published types", async () => {
    // Inside the package, so `import 'modelship'` resolves to itself through package.json "exports" (dist/*.d.ts).
    const dir = join(root, '.scratch', `doc-snippets-${process.pid}`);
    temps.push(dir);
    const snippets = await writeSnippets(root, dir);
    expect(snippets.length).toBeGreaterThan(20);
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
      },
      files: [...snippets.map((s) => s.file), join(root, 'test', 'docs', 'snippet-context.d.ts')],
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const result = await runCommand(bin('tsc'), ['-p', dir], { cwd: dir }).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(mapDiagnostics(result, snippets)).toBe('');
  }, 180_000); // typedoc and tsc each take 15–50 s on a busy 2-core machine

  it('show no syntax that Node 20 rejects (`using` declarations) in code blocks', async () => {
    const found: string[] = [];
    for (const doc of await guides(root)) {
      for (const block of codeBlocks(await readFile(join(root, doc), 'utf8'))) {
        block.code.split('\n').forEach((line, i) => {
          if (/^\s*(?:await\s+)?using\s+[\w{[]/.test(line)) found.push(`${doc}:${block.line + i}: ${line.trim()}`);
        });
      }
    }
    expect(found).toEqual([]);
  });
});

/**
 * Turns the TypeScript blocks of the guides into a small TypeScript project that imports `modelship` as a user
 * does (through package.json "exports", so against dist/'s declarations), for one `tsc` run over all of them.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { codeBlocks } from './markdown.js';

/** Where a snippet came from, to point a compile error back at the guide. */
export interface Snippet {
  readonly doc: string;
  readonly line: number;
  readonly file: string;
}

/** The guides whose TypeScript blocks must compile: README.md and docs/*.md. */
export async function guides(root: string): Promise<string[]> {
  const docs = (await readdir(join(root, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return ['README.md', ...docs.sort()];
}

/**
 * Writes each ```ts block (not marked `nocheck`) as its own module under `dir`. The block's lines keep their
 * numbers (nothing is put before them), so an error at line N of the file is at the block's line N.
 */
export async function writeSnippets(root: string, dir: string): Promise<Snippet[]> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const out: Snippet[] = [];
  for (const doc of await guides(root)) {
    const blocks = codeBlocks(await readFile(join(root, doc), 'utf8'));
    for (const block of blocks) {
      if (!['ts', 'typescript', 'tsx'].includes(block.lang) || block.flags.includes('nocheck')) continue;
      const file = `${doc.replace(/[/.]/g, '_')}_${block.line}.ts`;
      // `export {}` makes every block a module: its names are its own, and top-level await is allowed.
      await writeFile(join(dir, file), `${block.code}\nexport {};\n`);
      out.push({ doc, line: block.line, file });
    }
  }
  return out;
}

/** Rewrites `file.ts(3,7): error …` lines from tsc into `docs/x.md:12:7: error …`. */
export function mapDiagnostics(output: string, snippets: readonly Snippet[]): string {
  const byFile = new Map(snippets.map((s) => [s.file, s]));
  return output.replace(
    /^(?:.*[/\\])?([\w.-]+\.ts)\((\d+),(\d+)\)/gm,
    (match, file: string, line: string, col: string) => {
      const snippet = byFile.get(file);
      return snippet ? `${snippet.doc}:${snippet.line + Number(line) - 1}:${col}` : match;
    },
  );
}

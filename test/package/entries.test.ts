/**
 * Each entry point's export list against the docs: every name an entry exports is listed under it in
 * docs/api.md, every name listed there is exported by the entry it is listed under, and the names README.md's
 * "Package" table gives an import are exported by it. An export added without docs fails here.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import tsupConfig from '../../tsup.config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string): Promise<string> => readFile(`${root}${p}`, 'utf8');
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const CONDITIONS = ['node', 'browser'];

/** An import as package.json "exports" resolves it: `modelship/node`, or `modelship` under a condition. */
interface Entry {
  readonly specifier: string;
  readonly condition: string;
  readonly source: string;
}

/** Every import with types in package.json "exports", mapped to its source file through tsup's entries. */
async function entries(): Promise<Entry[]> {
  const pkg = JSON.parse(await read('package.json')) as { name: string; exports: Record<string, unknown> };
  const tsupEntry = (tsupConfig as { entry: Record<string, string> }).entry;
  const out: Entry[] = [];
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (typeof target !== 'object' || target === null) continue; // a plain file (the session worker, package.json)
    const specifier = key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`;
    const byCondition = 'types' in target ? { default: target } : (target as Record<string, { types: string }>);
    for (const [condition, { types }] of Object.entries(byCondition) as [string, { types: string }][]) {
      const name = /^\.\/dist\/(.+)\.d\.ts$/.exec(types)?.[1];
      const source = name === undefined ? undefined : tsupEntry[name];
      if (source === undefined) throw new Error(`${specifier} (${condition}): ${types} is not a tsup entry`);
      out.push({ specifier, condition, source });
    }
  }
  return out;
}

/** The names a source file exports, values and types alike, as the TypeScript checker sees them. */
function exportedNames(sources: string[]): Map<string, Set<string>> {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${root}tsconfig.json`,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const program = ts.createProgram(
    sources.map((s) => `${root}${s}`),
    config.options,
  );
  const checker = program.getTypeChecker();
  const names = new Map<string, Set<string>>();
  for (const source of sources) {
    const file = program.getSourceFile(`${root}${source}`);
    const symbol = file && checker.getSymbolAtLocation(file);
    if (symbol === undefined) throw new Error(`${source} is not a module`);
    names.set(source, new Set(checker.getExportsOfModule(symbol).map((s) => s.name)));
  }
  return names;
}

/** GitHub's anchor for a heading. */
const slug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

interface Section {
  readonly level: number;
  readonly heading: string;
  /** Names on this section's own list items: the backticked identifiers before the " — ". */
  readonly names: Set<string>;
  /** Anchors of the sections an "Everything in …" line includes. */
  readonly includes: string[];
}

/** docs/api.md as sections (## and ###), outside code blocks. */
function sections(markdown: string): Map<string, Section> {
  const out = new Map<string, Section>();
  let current: Section | undefined;
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const heading = /^(#{2,3}) (.+)$/.exec(line);
    if (heading) {
      current = { level: (heading[1] as string).length, heading: heading[2] as string, names: new Set(), includes: [] };
      out.set(slug(current.heading), current);
    } else if (current && line.startsWith('- ')) {
      const names = line.slice(2).split(' — ')[0] as string;
      for (const [, name] of names.matchAll(/`([^`]+)`/g)) {
        if (!IDENTIFIER.test(name as string)) throw new Error(`docs/api.md: "${name}" in "${line}" is not a name`);
        if (current.names.has(name as string))
          throw new Error(`docs/api.md: ${name} is listed twice under ${current.heading}`);
        current.names.add(name as string);
      }
    } else if (current && line.startsWith('Everything in ')) {
      current.includes.push(...[...line.matchAll(/\]\(#([\w-]+)\)/g)].map((m) => m[1] as string));
    }
  }
  return out;
}

/** The names a section documents: its own, its subsections', and those of the sections it includes. */
function documented(all: Map<string, Section>, anchor: string): Set<string> {
  const keys = [...all.keys()];
  const start = keys.indexOf(anchor);
  const section = all.get(anchor);
  if (section === undefined) throw new Error(`docs/api.md has no section #${anchor}`);
  const names = new Set<string>();
  const add = (s: Section): void => {
    for (const n of s.names) names.add(n);
    for (const inc of s.includes) for (const n of documented(all, inc)) names.add(n);
  };
  add(section);
  for (const key of keys.slice(start + 1)) {
    const sub = all.get(key) as Section;
    if (sub.level <= section.level) break;
    add(sub);
  }
  return names;
}

/**
 * The imports a ## heading names: each backticked specifier, under the backticked condition that follows it
 * (`` `modelship` under Node.js (`node` condition) ``), else under none.
 */
function headingImports(heading: string): string[] {
  const named: { specifier: string; condition: string }[] = [];
  for (const [, token] of heading.matchAll(/`([^`]+)`/g)) {
    const last = named.at(-1);
    if (CONDITIONS.includes(token as string) && last !== undefined) last.condition = token as string;
    else if (/^modelship(\/|$)/.test(token as string)) named.push({ specifier: token as string, condition: 'default' });
  }
  return named.map((n) => `${n.specifier} ${n.condition}`);
}

/** The anchor of the one ## section of docs/api.md whose heading names an import. */
function sectionFor(all: Map<string, Section>, entry: Entry): string {
  const key = `${entry.specifier} ${entry.condition}`;
  const matches = [...all].filter(([, s]) => s.level === 2 && headingImports(s.heading).includes(key));
  if (matches.length !== 1)
    throw new Error(`docs/api.md needs exactly one "## " section for ${key}, found ${matches.length}`);
  return (matches[0] as [string, Section])[0];
}

describe('entry points against the docs', () => {
  let list: Entry[];
  let exported: Map<string, Set<string>>;
  let api: Map<string, Section>;

  beforeAll(async () => {
    list = await entries();
    exported = exportedNames([...new Set(list.map((e) => e.source))]);
    api = sections(await read('docs/api.md'));
  });

  it('knows every import package.json exports', () => {
    expect(list.map((e) => `${e.specifier} ${e.condition} ${e.source}`).sort()).toEqual([
      'modelship browser src/browser.ts',
      // TypeScript outside the browser condition ("moduleResolution": "bundler" too) sees the Node API's types.
      'modelship default src/index.node.ts',
      'modelship node src/index.node.ts',
      'modelship/browser default src/browser.ts',
      'modelship/express default src/express.ts',
      'modelship/node default src/node.ts',
      'modelship/testing default src/testing.ts',
    ]);
  });

  it('lists in docs/api.md exactly what each entry exports', () => {
    for (const entry of list) {
      const names = exported.get(entry.source) as Set<string>;
      expect(names.size, entry.source).toBeGreaterThan(0);
      const docs = documented(api, sectionFor(api, entry));
      const label = `${entry.specifier} (${entry.condition}), ${entry.source}`;
      expect([...names].filter((n) => !docs.has(n)).sort(), `${label}: exported but not in docs/api.md`).toEqual([]);
      expect([...docs].filter((n) => !names.has(n)).sort(), `${label}: in docs/api.md but not exported`).toEqual([]);
    }
  });

  it("exports every name README.md's Package table gives an import", async () => {
    const readme = await read('README.md');
    const table = readme.slice(readme.indexOf('## Package'), readme.indexOf('\n## ', readme.indexOf('## Package') + 1));
    const rows = [...table.matchAll(/^\| `(modelship[^`]*)` \| (.+) \|$/gm)];
    expect(rows.map((r) => r[1])).toEqual([
      'modelship',
      'modelship/browser',
      'modelship/node',
      'modelship/express',
      'modelship/testing',
    ]);
    for (const [, specifier, text] of rows) {
      // Any condition of the import counts: the `modelship` row names what it gives under Node too.
      const names = new Set(
        list.filter((e) => e.specifier === specifier).flatMap((e) => [...(exported.get(e.source) as Set<string>)]),
      );
      const mentioned = [...(text as string).matchAll(/`([^`]+?)(?:\(\))?`/g)]
        .map((m) => m[1] as string)
        .filter((n) => IDENTIFIER.test(n));
      expect(mentioned.length, specifier).toBeGreaterThan(0);
      expect(
        mentioned.filter((n) => !names.has(n)),
        `${specifier}: named in README.md but not exported`,
      ).toEqual([]);
    }
  });
});

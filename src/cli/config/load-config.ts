/**
 * Reads `modelship.yaml` / `.json`: YAML is parsed into a document that keeps each node's position, so a zod
 * issue's path (`deployments.digits.canary.weight`) is reported at the line and column the user wrote it.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { ModelshipError } from '../../index.node.js';
import { configSchema, type ModelshipConfig } from './config-schema.js';
import { checkConfigEnv } from './config-env.js';

const SECRET_KEYS = new Set(['token', 'username', 'password', 'apiKey']);

/** One problem in a config file. */
export interface ConfigProblem {
  /** The key's path, dotted: `deployments.digits.canary.weight`. */
  readonly key: string;
  /** 1-based line and column in the file (the nearest enclosing key when the key is missing). */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** Where a path points in the document: the key's own position when it exists, else its nearest parent's. */
function locate(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): { line: number; col: number } {
  let node: unknown = doc.contents;
  let offset = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === String(segment),
      );
      if (pair === undefined) break;
      offset = (pair.key as YamlNode | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as YamlNode | undefined;
      if (item === undefined) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return counter.linePos(offset);
}

/** The problems in zod's report, each at its key (an unknown key at the key itself). */
function problemsOf(issues: readonly z.core.$ZodIssue[], doc: Document, counter: LineCounter): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const paths =
      issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path as PropertyKey[]];
    for (const path of paths) {
      const { line, col } = locate(doc, counter, path);
      const key = String(path.at(-1));
      const message =
        issue.code !== 'unrecognized_keys'
          ? issue.message
          : SECRET_KEYS.has(key)
            ? `a config file holds no secrets: put it in an environment variable and name it with ${key}Env`
            : 'unknown key (check its spelling and indentation; docs/cli.md lists the keys)';
      out.push({ key: path.map(String).join('.') || '(file)', line, column: col, message });
    }
  }
  return out;
}

/** Formats problems as `file:line:column key: message` lines, as compilers do (editors link them). */
export function formatProblems(file: string, problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${file}:${p.line}:${p.column} ${p.key}: ${p.message}`).join('\n');
}

function invalid(file: string, problems: ConfigProblem[]): ModelshipError {
  return new ModelshipError(
    'INVALID_OPTIONS',
    `${basename(file)} is not a valid modelship config:\n${formatProblems(basename(file), problems)}\nFix the keys above (docs/cli.md describes the file), then run \`modelship config check\` again.`,
    { details: { problems } },
  );
}

/**
 * Parses and validates config text: the schema first, then the environment it names (credentials, tokens).
 * Throws INVALID_OPTIONS listing every problem with its key, line and column.
 */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): ModelshipConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw invalid(
      file,
      doc.errors.map((e) => {
        const { line, col } = counter.linePos(e.pos[0]);
        return { key: '(syntax)', line, column: col, message: e.message.split('\n')[0] ?? e.code };
      }),
    );
  }
  // `__proto__` would set the object's prototype instead of a key: the entry would vanish without a word.
  const hostile: ConfigProblem[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === '__proto__') {
        const { line, col } = counter.linePos(pair.key.range?.[0] ?? 0);
        hostile.push({ key: '__proto__', line, column: col, message: 'not a key a config file can use' });
      }
    },
  });
  if (hostile.length > 0) throw invalid(file, hostile);
  let value: unknown;
  try {
    // yaml refuses alias expansions past 100 (a "billion laughs" file): a config never needs that many.
    value = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw invalid(file, [{ key: '(file)', line: 1, column: 1, message: (error as Error).message }]);
  }
  const result = configSchema.safeParse(value);
  if (!result.success) throw invalid(file, problemsOf(result.error.issues, doc, counter));
  const envProblems = checkConfigEnv(result.data, env).map((p) => {
    const { line, col } = locate(doc, counter, p.path);
    return { key: p.path.join('.'), line, column: col, message: p.message };
  });
  if (envProblems.length > 0) throw invalid(file, envProblems);
  return result.data;
}

/** Reads and validates a config file (see {@link parseConfig}). */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ModelshipConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `The config file ${basename(file)} cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'}); check the --config path.`,
      { cause },
    );
  }
  return parseConfig(text, file, env);
}

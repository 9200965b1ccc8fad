/**
 * A JSON Lines sample file for `validate` and `bench`: one row per line, `{"inputs": <row>, "<label>": n}`,
 * where `<row>` is one row of a one-input model or `{ "<input>": <row>, … }`. Rows become one input (`validate` runs it in chunks of 4096 rows).
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { ModelshipError, type PredictInput } from '../index.node.js';

/** The sample as one batch, and its labels when a label field was named. */
export interface Sample {
  readonly inputs: PredictInput;
  readonly labels?: number[];
  readonly rows: number;
}

const bad = (file: string, line: number, what: string): ModelshipError =>
  new ModelshipError('INVALID_INPUT', `${basename(file)}:${line}: ${what}`);

/** Reads `file`; `inputsField` (default `inputs`) holds each row's inputs, `labelField` its label. */
export async function readSamples(
  file: string,
  options: { inputsField?: string; labelField?: string; maxRows?: number } = {},
): Promise<Sample> {
  const field = options.inputsField ?? 'inputs';
  const rows: unknown[] = [];
  const labels: number[] = [];
  let line = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw bad(file, line, 'not a JSON object; each line is {"inputs": …, "label": …}');
      }
      if (typeof value !== 'object' || value === null || !(field in value))
        throw bad(file, line, `no "${field}" field (name another with --inputs-field)`);
      rows.push((value as Record<string, unknown>)[field]);
      if (options.labelField !== undefined) {
        const label = (value as Record<string, unknown>)[options.labelField];
        if (typeof label !== 'number') throw bad(file, line, `"${options.labelField}" is not a number`);
        labels.push(label);
      }
      if (options.maxRows !== undefined && rows.length > options.maxRows)
        throw bad(file, line, `more than ${options.maxRows} rows; validate on a smaller sample`);
    }
  } catch (error) {
    if (ModelshipError.isInstance(error)) throw error;
    throw new ModelshipError(
      'INVALID_INPUT',
      `The sample file ${basename(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
      { cause: error },
    );
  }
  if (rows.length === 0) throw new ModelshipError('INVALID_INPUT', `The sample file ${basename(file)} has no rows.`);
  const named = rows.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r));
  const inputs = named
    ? Object.fromEntries(
        Object.keys(rows[0] as object).map((k) => [k, rows.map((r) => (r as Record<string, unknown>)[k])]),
      )
    : rows;
  return { inputs: inputs as PredictInput, rows: rows.length, ...(options.labelField !== undefined ? { labels } : {}) };
}

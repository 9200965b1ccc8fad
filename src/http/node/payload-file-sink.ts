import { open, type FileHandle } from 'node:fs/promises';
import { ModelshipError } from '../../errors/index.js';
import type { PayloadRecord } from '../observe-options.js';

/** A payload-log sink that appends one JSON line per record to a file. */
export interface PayloadFileSink {
  (record: PayloadRecord): Promise<void>;
  /** Waits for the lines written so far and closes the file. */
  close(): Promise<void>;
}

/**
 * A `payloadLog.sink` that appends each record as a JSON line to `path` (created if missing, never truncated),
 * in the order the answers were ready. A failed write rejects that record's promise (the handler logs it at
 * warn level; the request is not affected) and the next record tries again.
 *
 * @example
 * ```ts
 * const sink = createPayloadFileSink('/var/log/modelship/payloads.jsonl');
 * const handler = createHandler({ models: [model], payloadLog: { sink, sampleRate: 0.01, maxBytes: 8192 } });
 * ```
 */
export function createPayloadFileSink(path: string): PayloadFileSink {
  if (typeof path !== 'string' || path === '') {
    throw new ModelshipError('INVALID_ARGUMENT', 'createPayloadFileSink needs a file path to append to.');
  }
  let file: Promise<FileHandle> | undefined;
  let tail: Promise<void> = Promise.resolve();
  const write = (line: string): Promise<void> => {
    const next = tail.then(async () => {
      file ??= open(path, 'a').catch((cause: unknown) => {
        file = undefined;
        throw new ModelshipError('INVALID_ARGUMENT', 'The payload log file could not be opened for appending.', {
          cause,
        });
      });
      await (await file).appendFile(line);
    });
    tail = next.catch(() => undefined);
    return next;
  };
  const sink = ((record: PayloadRecord) => write(`${JSON.stringify(record)}\n`)) as PayloadFileSink;
  sink.close = async () => {
    await tail;
    const handle = await file?.catch(() => undefined);
    file = undefined;
    await handle?.close();
  };
  return sink;
}

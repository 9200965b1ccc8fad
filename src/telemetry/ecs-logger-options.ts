import { z } from 'zod';
import { parseOptions } from '../core/options.js';

/** Options for `createEcsLogger`. */
export const ecsLoggerOptionsSchema = z.strictObject({
  /** `service.name` on every line (default `modelship`). */
  serviceName: z.string().min(1).optional(),
  /** `service.version` on every line, when given. */
  serviceVersion: z.string().min(1).optional(),
  /** `event.dataset` on every line (default: the service name, as `@elastic/ecs-pino-format` does). */
  eventDataset: z.string().min(1).optional(),
  /** `host.hostname` on every line, when given (e.g. `os.hostname()`; the CLI passes it). */
  hostname: z.string().min(1).optional(),
  /** Lines below this level are dropped (default `info`). */
  level: z.enum(['debug', 'info', 'warn', 'error']).optional(),
  /**
   * Receives each line (JSON, with its trailing newline). Default: `process.stdout.write` where there is a
   * `process` (Node, Bun, Deno), else `console.log` without the newline.
   */
  write: z
    .custom<(line: string) => void>((v) => typeof v === 'function', 'write must be a function (line) => void')
    .optional(),
  /** Clock for `@timestamp` (tests pin it). Default `() => new Date()`. */
  now: z.custom<() => Date>((v) => typeof v === 'function', 'now must be a function returning a Date').optional(),
});

/** Options for `createEcsLogger`. */
export type EcsLoggerOptions = z.input<typeof ecsLoggerOptionsSchema>;

/** Parses ECS logger options, turning zod's report into an INVALID_OPTIONS error. */
export function parseEcsLoggerOptions(options: unknown): z.output<typeof ecsLoggerOptionsSchema> {
  return parseOptions(ecsLoggerOptionsSchema, options ?? {}, 'createEcsLogger');
}

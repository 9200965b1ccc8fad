import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseOptions } from '../../core/options.js';

/** Options for `serve`. */
export const serveOptionsSchema = z.strictObject({
  /** Port to listen on; 0 picks a free one (default 8080). */
  port: z.number().int().min(0).max(65535).optional(),
  /** Interface to bind (default: all interfaces, like `server.listen(port)`). */
  host: z.string().min(1).optional(),
  /** How long `close()` waits for in-flight requests before cutting connections (default 10 s). */
  shutdownTimeoutMs: z.number().int().nonnegative().optional(),
  /** Aborting this signal closes the server, as `close()` does. */
  signal: z.instanceof(AbortSignal).optional(),
  /**
   * Receives requests for paths modelship does not serve, instead of a 404: mount a Prometheus exporter's
   * `/metrics`, a static page, another app.
   */
  fallback: z
    .custom<(req: IncomingMessage, res: ServerResponse) => void>((v) => typeof v === 'function', 'fallback must be a function (req, res) => void')
    .optional(),
});

/** Options for `serve`. */
export type ServeOptions = z.input<typeof serveOptionsSchema>;

/** Parses serve options, turning zod's report into an INVALID_OPTIONS error. */
export function parseServeOptions(options: unknown): z.output<typeof serveOptionsSchema> {
  return parseOptions(serveOptionsSchema, options ?? {}, 'serve');
}

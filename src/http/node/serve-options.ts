import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseOptions } from '../../core/options.js';
import { observeOptionsShape } from '../observe-options.js';
import { grpcListenSchema } from '../grpc/serve-grpc-options.js';

/** Options for `serve`. */
export const serveOptionsSchema = z.strictObject({
  /** Port to listen on; 0 picks a free one (default 8080). */
  port: z.number().int().min(0).max(65535).optional(),
  /** Interface to bind (default: all interfaces, like `server.listen(port)`). */
  host: z.string().min(1).optional(),
  /** How long `close()` waits for in-flight requests before cutting connections (default 10 s). */
  shutdownTimeoutMs: z.number().int().nonnegative().optional(),
  /**
   * Request body bytes the server reads at once, over all requests (default: four times the handler's
   * `maxBodyBytes`). A body that would pass it is refused with 503 `SERVER_BUSY` and `Retry-After` before it is
   * read; a body alone is always let in.
   */
  maxInFlightBodyBytes: z.number().int().positive().optional(),
  /**
   * How long a client may take to send a whole request, headers and body (default 30 s; 0 turns it off).
   * Past it the answer is 408 `REQUEST_TIMEOUT` and the connection is closed: a slow trickle cannot hold memory.
   */
  requestTimeoutMs: z.number().int().nonnegative().optional(),
  /**
   * Also serve the models over gRPC (OIP v2 `inference.GRPCInferenceService` and `grpc.health.v1`) on this
   * port, with the same handler; `close()` drains both. Needs `@grpc/grpc-js` and `@grpc/proto-loader`.
   */
  grpc: grpcListenSchema.optional(),
  /**
   * `true` (or `{ path, serviceName }`) answers `GET /metrics` in Prometheus' text format, as the handler's
   * `metrics` option does (the same optional OpenTelemetry peers, loaded only then); the server asks it only for
   * paths the handler does not serve.
   */
  metrics: observeOptionsShape.metrics,
  /** Aborting this signal closes the server, as `close()` does. */
  signal: z.instanceof(AbortSignal).optional(),
  /**
   * Receives requests for paths modelship does not serve, instead of a 404: mount a Prometheus exporter's
   * `/metrics`, a static page, another app.
   */
  fallback: z
    .custom<(req: IncomingMessage, res: ServerResponse) => void>(
      (v) => typeof v === 'function',
      'fallback must be a function (req, res) => void',
    )
    .optional(),
});

/** Options for `serve`. */
export type ServeOptions = z.input<typeof serveOptionsSchema>;

/** Parses serve options, turning zod's report into an INVALID_OPTIONS error. */
export function parseServeOptions(options: unknown): z.output<typeof serveOptionsSchema> {
  return parseOptions(serveOptionsSchema, options ?? {}, 'serve');
}

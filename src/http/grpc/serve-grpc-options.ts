import { z } from 'zod';
import { parseOptions } from '../../core/options.js';
import type { Logger } from '../../serving/logger.js';

/** Default largest message a client may send: gRPC's own default, 4 MiB. */
export const DEFAULT_GRPC_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

/** Default port: KServe's gRPC port. */
export const DEFAULT_GRPC_PORT = 8081;

/** The listening part of the gRPC options, shared by `serveGrpc` and `serve({ grpc })`. */
export const grpcListenSchema = z.strictObject({
  /** Port to listen on; 0 picks a free one (default 8081, KServe's gRPC port). */
  port: z.number().int().min(0).max(65535).optional(),
  /** Interface to bind (default all IPv4 interfaces, `0.0.0.0`; `::` for IPv6 too). */
  host: z.string().min(1).optional(),
  /**
   * Largest request message accepted, in bytes (default 4 MiB, gRPC's default). A larger one is refused with
   * RESOURCE_EXHAUSTED before it is decoded.
   */
  maxReceiveMessageLength: z.number().int().positive().optional(),
  /** Largest answer sent, in bytes (default: no limit). A larger one fails with RESOURCE_EXHAUSTED. */
  maxSendMessageLength: z.number().int().positive().optional(),
});

/** Options for `serveGrpc`. */
export const serveGrpcOptionsSchema = grpcListenSchema.extend({
  /** How long `close()` waits for calls in flight before cutting them (default 10 s). */
  shutdownTimeoutMs: z.number().int().nonnegative().optional(),
  /** Aborting this signal closes the server, as `close()` does. */
  signal: z.instanceof(AbortSignal).optional(),
  /** Where failures are logged (server faults at error level, client-caused ones at debug), as `createHandler`'s. */
  logger: z
    .custom<Logger>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Logger).error === 'function',
      'logger must be console-like',
    )
    .optional(),
});

/** Options for `serveGrpc`. */
export type ServeGrpcOptions = z.input<typeof serveGrpcOptionsSchema>;

/** The `grpc` option of `serve()`: where and how the gRPC service listens beside HTTP. */
export type GrpcListenOptions = z.input<typeof grpcListenSchema>;

/** Parses `serveGrpc` options, turning zod's report into an INVALID_OPTIONS error. */
export function parseServeGrpcOptions(options: unknown): z.output<typeof serveGrpcOptionsSchema> {
  return parseOptions(serveGrpcOptionsSchema, options ?? {}, 'serveGrpc');
}

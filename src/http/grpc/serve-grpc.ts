import type { Server } from '@grpc/grpc-js';
import { ModelshipError } from '../../errors/index.js';
import { defaultLogger } from '../../serving/logger.js';
import type { ModelshipHandler } from '../handler.js';
import { ModelTable } from '../model-table.js';
import { healthService } from './health-service.js';
import { inferenceService } from './inference-service.js';
import { loadGrpc } from './load-grpc.js';
import {
  DEFAULT_GRPC_MAX_RECEIVE_BYTES,
  DEFAULT_GRPC_PORT,
  parseServeGrpcOptions,
  type ServeGrpcOptions,
} from './serve-grpc-options.js';

export type { ServeGrpcOptions, GrpcListenOptions } from './serve-grpc-options.js';

/** A running gRPC server. */
export interface ModelshipGrpcServer extends AsyncDisposable {
  /** The grpc-js server, to add services of your own before traffic arrives. */
  readonly server: Server;
  readonly port: number;
  /** `grpc://127.0.0.1:<port>` (or the bound host). */
  readonly url: string;
  /**
   * Graceful shutdown: health turns NOT_SERVING and open Watch streams end, no new call is accepted, calls in
   * flight finish (up to `shutdownTimeoutMs`, then they are cut); then the handler closes, and with it the
   * models. `serve({ grpc })` drains HTTP and gRPC together before closing the handler once.
   */
  close(): Promise<void>;
}

/** Internal: `serve()` closes the handler itself after draining both servers. */
export interface GrpcServeInternals {
  readonly closeHandler: boolean;
}

function bindAsync(server: Server, address: string, credentials: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials as never, (error, port) => (error ? reject(error) : resolve(port)));
  });
}

/**
 * Serves a handler's models over gRPC as KServe's and Triton's `inference.GRPCInferenceService` (Open
 * Inference Protocol v2: ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer with
 * typed or raw contents, ModelConfig, ModelStatistics) and `grpc.health.v1.Health`. Existing clients
 * (`tritonclient.grpc`, KServe's `InferenceGRPCClient`, stubs generated from either `.proto`) work unchanged;
 * the `.proto` files ship in the package's `dist/proto/`. Needs the optional peers `@grpc/grpc-js` and
 * `@grpc/proto-loader` (DEPENDENCY_MISSING otherwise). The same models and deployments answer as over HTTP;
 * a call's deadline and cancellation reach the batcher like the HTTP ones.
 *
 * @example
 * ```ts
 * const handler = createHandler({ models: [model] });
 * const http = await serve(handler, { port: 8080 });
 * const grpc = await serveGrpc(handler, { port: 8081 });
 * // or both at once: await serve(handler, { port: 8080, grpc: { port: 8081 } })
 * ```
 */
export async function serveGrpc(
  handler: ModelshipHandler,
  grpcOptions: ServeGrpcOptions = {},
  internals: GrpcServeInternals = { closeHandler: true },
): Promise<ModelshipGrpcServer> {
  const options = parseServeGrpcOptions(grpcOptions);
  if (!Array.isArray((handler as Partial<ModelshipHandler>).models)) {
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'serveGrpc needs a handler made by createHandler (it serves its models).',
    );
  }
  const { grpc, inference, health } = await loadGrpc();
  const table = new ModelTable(handler.models);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxReceiveMessageLength ?? DEFAULT_GRPC_MAX_RECEIVE_BYTES,
    'grpc.max_send_message_length': options.maxSendMessageLength ?? -1,
    // No channelz bookkeeping: with it on, grpc-js makes four closures and two Date.now() per call for counters
    // that only a channelz service would read, and modelship serves none (metrics and stats answer instead).
    'grpc.enable_channelz': 0,
  });
  const healthImpl = healthService(table);
  server.addService(
    inference,
    inferenceService({ table, logger: options.logger ?? defaultLogger, metadata: () => new grpc.Metadata() }),
  );
  server.addService(health, healthImpl.implementation);

  const port0 = options.port ?? DEFAULT_GRPC_PORT;
  const bindHost = options.host ?? '0.0.0.0';
  const hostPart = bindHost.includes(':') ? `[${bindHost}]` : bindHost;
  let port: number;
  try {
    port = await bindAsync(server, `${hostPart}:${port0}`, grpc.ServerCredentials.createInsecure());
  } catch (cause) {
    server.forceShutdown();
    throw new ModelshipError(
      'ADDRESS_IN_USE',
      `gRPC could not listen on port ${port0}: it is in use or not allowed; pass another port (or 0 for a free one).`,
      { cause, details: { transport: 'grpc', port: port0 } },
    );
  }
  disableNagle(server);
  const shownHost = bindHost === '0.0.0.0' || bindHost === '::' ? '127.0.0.1' : bindHost;
  const url = `grpc://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      healthImpl.close();
      await drain(server, options.shutdownTimeoutMs ?? 10_000);
      if (internals.closeHandler) await handler.close();
    })();
    return closing;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return { server, port, url, close, [Symbol.asyncDispose]: close };
}

/**
 * Turns Nagle's algorithm off on the server's connections, as node:http does and grpc-js does on its client side
 * but not on its server's: an answer goes out as several small writes (headers, message, trailers), and with
 * Nagle on, the later ones wait for the client's delayed ACK, about 40 ms per call (measured: 64 connections
 * were held to ~250 calls/s with the server half idle). grpc-js keeps its node:http2 servers in a private map;
 * if a version stops doing so this does nothing.
 */
function disableNagle(server: Server): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return;
  for (const http2Server of servers.keys()) {
    (http2Server as { on(event: 'connection', f: (socket: { setNoDelay(on: boolean): void }) => void): void }).on(
      'connection',
      (socket) => socket.setNoDelay(true),
    );
  }
}

/** Stops accepting calls and resolves once the calls in flight have finished, or cuts them after `timeoutMs`. */
function drain(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.forceShutdown(), timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(cut);
      resolve();
    });
  });
}

import type * as Grpc from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import { ModelshipError } from '../../errors/index.js';

/** `@grpc/grpc-js` as loaded on first use. */
export type GrpcModule = typeof Grpc;

/** What the gRPC server needs, loaded once: grpc-js and the two service definitions from the shipped `.proto` files. */
export interface GrpcRuntime {
  readonly grpc: GrpcModule;
  /** `inference.GRPCInferenceService` (Open Inference Protocol v2). */
  readonly inference: Grpc.ServiceDefinition;
  /** `grpc.health.v1.Health`. */
  readonly health: Grpc.ServiceDefinition;
}

/** The file names of the shipped protocol definitions, in the package's `proto/` folder. */
export const OIP_PROTO_FILE = 'grpc_predict_v2.proto';
/** The health checking protocol's file name. */
export const HEALTH_PROTO_FILE = 'health.proto';

/**
 * How messages become objects: field names as in the `.proto` (snake_case, like every other client of the
 * protocol), 64-bit integers as numbers (shapes; exact to 2^53 — send raw contents for exact 64-bit values),
 * enums by name, `bytes` as Buffers that view the received message (no copy), repeated fields always arrays.
 */
const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: false, arrays: true, oneofs: true };

/**
 * The absolute path of a shipped `.proto` file. The files sit in `proto/` beside this module in the source and
 * beside the bundled chunks in `dist/` (tsup copies them); a file URL becomes a path without `node:url`, which
 * this browser-neutral folder may not import.
 */
export function protoPath(file: string): string {
  const path = decodeURIComponent(new URL(`./proto/${file}`, import.meta.url).pathname);
  // file:///C:/x on Windows has the pathname /C:/x.
  return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path;
}

let loading: Promise<GrpcRuntime> | undefined;

async function load(): Promise<GrpcRuntime> {
  let grpc: GrpcModule;
  let loader: typeof ProtoLoader;
  try {
    [grpc, loader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
  } catch (cause) {
    throw new ModelshipError(
      'DEPENDENCY_MISSING',
      'Serving gRPC needs the optional peer dependencies @grpc/grpc-js and @grpc/proto-loader: npm install @grpc/grpc-js @grpc/proto-loader',
      { cause },
    );
  }
  const definition: ProtoLoader.PackageDefinition = await loader.load(
    [protoPath(OIP_PROTO_FILE), protoPath(HEALTH_PROTO_FILE)],
    LOADER_OPTIONS,
  );
  return {
    grpc,
    inference: definition['inference.GRPCInferenceService'] as Grpc.ServiceDefinition,
    health: definition['grpc.health.v1.Health'] as Grpc.ServiceDefinition,
  };
}

/** Loads grpc-js, proto-loader and the service definitions on first call; DEPENDENCY_MISSING if not installed. */
export function loadGrpc(): Promise<GrpcRuntime> {
  loading ??= load().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

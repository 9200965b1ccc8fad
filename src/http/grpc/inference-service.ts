import type {
  Metadata,
  sendUnaryData,
  ServerUnaryCall,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from '../../serving/logger.js';
import type { Servable } from '../../serving/servable.js';
import { reportHttpError } from '../error-log.js';
import type { ModelTable } from '../model-table.js';
import { toOipTensorMetadata } from '../oip/codec.js';
import { OIP_EXTENSIONS } from '../oip/routes.js';
import { modelConfig } from '../oip/model-config.js';
import { modelStats } from '../oip/statistics.js';
import { toGrpcFailure } from './grpc-status.js';
import type { GrpcInferRequest, GrpcInferResponse } from './infer-codec.js';
import { modelInfer } from './model-infer.js';

declare const MODELSHIP_VERSION: string | undefined;
const SERVER_VERSION = typeof MODELSHIP_VERSION === 'string' ? MODELSHIP_VERSION : '0.0.0-dev';

/** The metadata key that carries modelship's error code beside the gRPC status. */
export const ERROR_CODE_METADATA = 'x-modelship-error-code';

/** What the service needs from its server. */
export interface InferenceServiceContext {
  readonly table: ModelTable;
  readonly logger: Logger;
  /** Builds an empty `Metadata` (grpc-js is loaded lazily, so its class is passed in). */
  readonly metadata: () => Metadata;
}

interface NameVersion {
  name?: string;
  version?: string;
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

/**
 * The `inference.GRPCInferenceService` methods over the served models: the OIP v2 health, metadata and
 * inference calls, and Triton's ModelConfig and ModelStatistics. Every failure becomes a gRPC status mapped
 * from modelship's code (which travels in the `x-modelship-error-code` trailer), counted and logged as the HTTP
 * routes count and log theirs.
 */
export function inferenceService(ctx: InferenceServiceContext): UntypedServiceImplementation {
  const { table } = ctx;
  const failWith =
    (callback: sendUnaryData<never>) =>
    (error: unknown): void => {
      const failure = toGrpcFailure(error);
      reportHttpError(failure.error, ctx.logger);
      const metadata = ctx.metadata();
      metadata.set(ERROR_CODE_METADATA, failure.error.code);
      callback({ code: failure.code, details: failure.details, metadata }, null);
    };
  /** A method whose answer is computed at once from the request. */
  const unary =
    <Req, Res>(answer: (request: Req) => Res): Unary<Req, Res> =>
    (call, callback) => {
      let response: Res;
      try {
        response = answer(call.request);
      } catch (error) {
        failWith(callback as sendUnaryData<never>)(error);
        return;
      }
      callback(null, response);
    };
  const pick = (r: NameVersion): Servable => table.get(r.name ?? '', r.version || undefined);

  return {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: table.all.every((m) => m.state === 'ready') })),
    ModelReady: unary((r: NameVersion) => ({ ready: pick(r).state === 'ready' })),
    ServerMetadata: unary(() => ({ name: 'modelship', version: SERVER_VERSION, extensions: [...OIP_EXTENSIONS] })),
    ModelMetadata: unary((r: NameVersion) => {
      const model = pick(r);
      return {
        name: model.name,
        versions: r.version ? [model.version] : table.versions(model.name).map((m) => m.version),
        platform: model.platform,
        inputs: model.signature.inputs.map(toOipTensorMetadata),
        outputs: model.signature.outputs.map(toOipTensorMetadata),
      };
    }),
    ModelConfig: unary((r: NameVersion) => ({ config: modelConfig(pick(r)) })),
    ModelStatistics: unary((r: NameVersion) => {
      const models = r.name ? (r.version ? [pick(r)] : table.versions(r.name)) : table.all;
      return { model_stats: models.flatMap((m) => modelStats(m, r.version || undefined)) };
    }),
    ModelInfer: ((
      call: ServerUnaryCall<GrpcInferRequest, GrpcInferResponse>,
      callback: sendUnaryData<GrpcInferResponse>,
    ) => modelInfer(table, call, callback, failWith(callback as sendUnaryData<never>))) as UntypedHandleCall,
  };
}

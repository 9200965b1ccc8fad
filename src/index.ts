/**
 * modelship — serve, route, watch and track ONNX models in-process.
 *
 * This entry is runtime-agnostic (no `node:` imports): errors, tensors, input validation and the fetch-style
 * HTTP handler. Under Node.js the same specifier resolves to `index.node.ts`, which adds `loadModel` and the
 * local registry.
 * @packageDocumentation
 */
export {
  ModelshipError,
  ERROR_CODES,
  toModelshipError,
  type ErrorCode,
  type ModelshipErrorOptions,
} from './errors/index.js';
export { Tensor, type NestedArray } from './core/tensor.js';
export {
  DEFAULT_MAX_ROWS,
  type PredictInput,
  type TensorInput,
  type TensorInputObject,
  type TypedArray,
  type InputLimits,
} from './core/input.js';
export {
  parseNamedRef,
  isPathRef,
  assertAlias,
  assertModelName,
  type NamedRef,
  type VersionSelector,
} from './core/ref.js';
export { isRemoteRef, parseRemoteRef, type RemoteRef } from './core/remote-ref.js';
export { createHandler, type ModelshipHandler } from './http/handler.js';
export type { HandlerCore, InboundRequest, OutboundResponse } from './http/exchange.js';
export { DEFAULT_MAX_BODY_BYTES, type HandlerOptions } from './http/handler-options.js';
export type { ModelRef } from './serving/load-model.js';
export type { LoadModelOptions } from './serving/load-model-options.js';
export {
  createModel,
  type Model,
  type ModelSourceInfo,
  type ModelStats,
  type CreateModelInit,
} from './serving/model.js';
export type { BatchingStats, BatchGainPoint, BatchingOptions } from './serving/batching/index.js';
export type { ServableModel, ModelState, PredictOptions, PredictOutputs } from './serving/servable.js';
export { defaultLogger, silentLogger, type Logger } from './serving/logger.js';
export { logLine, type LogFields, type LogLevel } from './core/logger.js';
export { createEcsLogger, type EcsLogger, type EcsLogFn, type EcsLoggerOptions } from './telemetry/ecs-logger.js';
export type { PayloadRecord, PayloadBody } from './http/observe-options.js';
export {
  isRouted,
  predictVersioned,
  type RoutedServable,
  type RoutedPredictOptions,
  type Servable,
  type VersionedPrediction,
} from './serving/servable.js';
export {
  createModelRepository,
  type ModelRepository,
  type ModelRepositoryOptions,
  type RepositoryLoader,
  type RepositoryModel,
  type RepositoryModelState,
  type RepositoryIndexEntry,
  type RepositoryEvents,
  type RepositoryStats,
} from './serving/model-repository.js';
export { createDeploymentWith } from './runtime/deployment.js';
export {
  createAzureMlVersion,
  createRemoteVersion,
  createSageMakerVersion,
  createVertexVersion,
  type AzureMlVersion,
  type RemoteVersion,
  type SageMakerVersion,
  type VertexVersion,
} from './backends/remote/index.js';
export {
  type VersionLoader,
  type Deployment,
  type DeploymentOptions,
  type DeploymentEvent,
  type DeploymentEvents,
  type DeploymentStatus,
  type VersionStatus,
  type ChangeReason,
  type MirrorStats,
  type VersionRef,
} from './routing/index.js';
export type { AgreementRule, WindowStats, GuardrailBreach } from './routing/policy/index.js';
export {
  evaluateCandidate,
  type ValidationCriteria,
  type ValidationCheck,
  type ValidationReport,
} from './routing/validate.js';
export {
  createBaseline,
  parseBaseline,
  psi,
  ksStatistic,
  ksPValue,
  jensenShannon,
  chiSquarePValue,
  ModelMonitor,
  type Baseline,
  type BaselineSample,
  type CreateBaselineOptions,
  type DriftReport,
  type FeatureDrift,
  type FeedbackOutcome,
  type LiveAccuracyStats,
  type MonitoringOptions,
  type MonitoringReport,
  type Monitored,
} from './monitoring/index.js';
export type * from './spec/index.js';

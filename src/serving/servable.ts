import type { Priority } from './batching/index.js';
import type { PredictInput } from '../core/input.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelSignature } from '../spec/tensor.js';

/** Lifecycle of a served model: warming → ready → closing → closed (or failed). */
export type ModelState = 'warming' | 'ready' | 'closing' | 'closed' | 'failed';

/** Per-call options for `predict`. */
export interface PredictOptions {
  /** Cancels the call; a cancelled call rejects with `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Compute only these outputs (all when absent). Unknown names fail with `INVALID_INPUT`. */
  readonly outputs?: readonly string[];
  /**
   * Milliseconds the caller is willing to wait. A request still queued when it passes is dropped before
   * inference; either way the call fails with `DEADLINE_EXCEEDED`.
   */
  readonly deadlineMs?: number;
  /** Queue priority: `high` requests leave the queue before `normal` (default) and `low` ones. */
  readonly priority?: Priority;
  /**
   * The caller's id for this request (HTTP: `x-request-id`). With monitoring on, the answer is kept under it so
   * that `feedback(requestId, label)` can join the true label when it arrives.
   */
  readonly requestId?: string;
}

/** Outputs by name. */
export type PredictOutputs = Record<string, Tensor>;

/**
 * What the HTTP layer serves: anything with a name, a version, a signature and `predict`.
 * A loaded `Model` is one; deployments that route between versions can be too.
 */
export interface ServableModel {
  readonly name: string;
  readonly version: string;
  readonly signature: ModelSignature;
  readonly state: ModelState;
  /** The runtime platform, as reported in KServe v2 metadata (`onnxruntime_onnx`). */
  readonly platform: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /**
   * Runs the model on one input (validated against the signature first); resolves with every output (or those
   * in `options.outputs`) as a `Tensor`.
   */
  predict(input: PredictInput, options?: PredictOptions): Promise<PredictOutputs>;
  /** Resolves when the model is loaded and warmed up and answers without a cold start. */
  ready(): Promise<void>;
  /** Stops taking calls, lets the ones in flight finish, then releases the runtime's resources. */
  close(): Promise<void>;
}

/** An answer together with the version that gave it. */
export interface VersionedPrediction {
  readonly outputs: PredictOutputs;
  /** The version that answered (a deployment routes between several). */
  readonly version: string;
  /**
   * Called by whatever turns the prediction into an answer (the HTTP routes) when that fails after the version
   * answered, e.g. an output the protocol cannot encode: a deployment then counts the request as an error, so
   * its stats and guardrails see the 500 the caller got.
   */
  answerFailed?(error: unknown): void;
}

/** `predict` options of something that routes between versions. */
export interface RoutedPredictOptions extends PredictOptions {
  /**
   * Keeps a caller on one version: the same key always lands on the same version for the same weights
   * (a user id, a session id). Without it, requests are split at random by weight.
   */
  readonly routingKey?: string;
}

/**
 * Something served like a model that routes each request to one of several versions and says which one
 * answered: a deployment. `createHandler` serves it like a model, and puts the version that answered in the
 * body and the `x-modelship-version` header.
 */
export interface RoutedServable extends Omit<ServableModel, 'predict'> {
  /** Tells a routed servable from a plain model. */
  readonly routed: true;
  /** Runs the version the request is routed to and says which version answered. */
  predict(input: PredictInput, options?: RoutedPredictOptions): Promise<VersionedPrediction>;
}

/** What `createHandler` serves: loaded models and deployments. */
export type Servable = ServableModel | RoutedServable;

/** True for a deployment (something that says which version answered). */
export function isRouted(model: Servable): model is RoutedServable {
  return (model as RoutedServable).routed === true;
}

/**
 * Runs `predict` on a model or a deployment and gives the outputs with the version that answered.
 *
 * Not an `async` function on purpose: V8 keeps an async function's locals and arguments alive across its
 * `await`s, whether or not they are used afterwards, so `input` (a parsed JSON body, tens of kilobytes) would
 * live until inference ends, survive young-generation collections and be promoted; an HTTP server measured
 * 15–20 % more CPU per request that way. `predict` copies the input before it returns, so nothing here needs it.
 */
export function predictVersioned(
  model: Servable,
  input: PredictInput,
  options: RoutedPredictOptions,
): Promise<VersionedPrediction> {
  if (isRouted(model)) return model.predict(input, options);
  const { routingKey: _ignored, ...rest } = options;
  const version = model.version;
  return model.predict(input, rest).then((outputs) => ({ outputs, version }));
}

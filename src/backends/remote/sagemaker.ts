import type * as Runtime from '@aws-sdk/client-sagemaker-runtime';
import { ModelshipError } from '../../errors/index.js';
import type { PredictInput } from '../../core/input.js';
import { parseOptions } from '../../core/options.js';
import { sageMakerVersionSchema, type SageMakerVersion } from './remote-options.js';
import type { RemotePredictOptions, RemoteServable } from './remote-servable.js';
import { remoteSignal, v2Outputs, v2Request } from './v2-codec.js';

async function loadRuntime(): Promise<typeof Runtime> {
  try {
    // createSageMakerVersion is exported by the runtime-agnostic entry, which the browser entry re-exports: a computed
    // specifier keeps bundlers from trying to resolve this Node-side peer.
    const specifier = '@aws-sdk/client-sagemaker-runtime';
    return (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as typeof Runtime;
  } catch (cause) {
    throw new ModelshipError(
      'DEPENDENCY_MISSING',
      'SageMaker endpoint versions need the optional peer dependency @aws-sdk/client-sagemaker-runtime: npm install @aws-sdk/client-sagemaker-runtime',
      { cause },
    );
  }
}

const env = (name: string): string | undefined => (typeof process === 'undefined' ? undefined : process.env[name]);

interface AwsError {
  readonly name?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly OriginalStatusCode?: number;
}

/** Whether an InvokeEndpoint failure is worth retrying: throttling, 5xx, or no answer at all. */
function retryable(e: AwsError): boolean {
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'ModelError' || e.name === 'ValidationError' || e.name === 'ModelNotReadyException')
    return e.name === 'ModelNotReadyException';
  return (
    status === undefined ||
    status >= 500 ||
    status === 429 ||
    /Throttling|ServiceUnavailable|InternalFailure|InternalDependency/.test(e.name ?? '')
  );
}

/**
 * A SageMaker real-time endpoint as a deployment version: `predict` sends a KServe v2 JSON body with
 * `InvokeEndpoint` (`ContentType`/`Accept: application/json`, `TargetVariant` when set) and reads a v2 answer.
 * Throttling, 5xx and connection failures are retried, then UPSTREAM_UNAVAILABLE; the container's own errors
 * (`ModelError`) and refusals are UPSTREAM_ERROR.
 */
export async function createSageMakerVersion(options: SageMakerVersion): Promise<RemoteServable> {
  const remote = parseOptions(sageMakerVersionSchema.shape.remote, options, 'createSageMakerVersion');
  const sdk = await loadRuntime();
  const client = new sdk.SageMakerRuntimeClient({
    region: remote.region ?? env('AWS_REGION') ?? env('AWS_DEFAULT_REGION') ?? 'us-east-1',
    maxAttempts: 1,
    ...(remote.endpoint === undefined ? {} : { endpoint: remote.endpoint }),
    ...(remote.credentials === undefined ? {} : { credentials: { ...remote.credentials } }),
  });
  const timeoutMs = remote.timeoutMs ?? 10_000;
  const retries = remote.retries ?? 2;
  const where = `SageMaker endpoint ${remote.endpointName}${remote.targetVariant === undefined ? '' : ` (variant ${remote.targetVariant})`}`;
  const signature = remote.signature;
  let state: RemoteServable['state'] = 'ready';

  async function invoke(body: string, signal?: AbortSignal): Promise<unknown> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        const out = await client.send(
          new sdk.InvokeEndpointCommand({
            EndpointName: remote.endpointName,
            ContentType: 'application/json',
            Accept: 'application/json',
            Body: new TextEncoder().encode(body),
            ...(remote.targetVariant === undefined ? {} : { TargetVariant: remote.targetVariant }),
          }),
          { abortSignal: signal ? AbortSignal.any([signal, timeout]) : timeout },
        );
        const text = new TextDecoder().decode(out.Body ?? new Uint8Array());
        try {
          return JSON.parse(text) as unknown;
        } catch (cause) {
          throw new ModelshipError('UPSTREAM_ERROR', `${where} answered with a body that is not JSON.`, { cause });
        }
      } catch (error) {
        if (ModelshipError.isInstance(error)) throw error;
        if (signal?.aborted)
          throw new ModelshipError('ABORTED', `The request to ${where} was cancelled.`, { cause: error });
        const e = error as AwsError;
        if (!retryable(e)) {
          throw new ModelshipError(
            'UPSTREAM_ERROR',
            `${where} refused the request (${e.name ?? 'error'}${e.OriginalStatusCode === undefined ? '' : `, container status ${e.OriginalStatusCode}`}: ${(e.message ?? '').slice(0, 300)}).`,
            { cause: error },
          );
        }
        lastError = new ModelshipError(
          'UPSTREAM_UNAVAILABLE',
          `${where} could not answer (${e.name ?? 'network error'}).`,
          { cause: error },
        );
      }
    }
    throw lastError;
  }

  return {
    name: remote.endpointName,
    version:
      remote.version ??
      (remote.targetVariant === undefined ? remote.endpointName : `${remote.endpointName}/${remote.targetVariant}`),
    signature,
    platform: 'sagemaker',
    metadata: { remote: `sagemaker:${remote.endpointName}` },
    get state() {
      return state;
    },
    async predict(input: PredictInput, options: RemotePredictOptions = {}): ReturnType<RemoteServable['predict']> {
      if (state !== 'ready') throw new ModelshipError('NOT_READY', `${where} is closed.`);
      const signal = remoteSignal(options);
      const body = JSON.stringify(v2Request(signature, input, options.outputs));
      return v2Outputs(await invoke(body, signal), where);
    },
    ready: () => Promise.resolve(),
    close: async () => {
      state = 'closed';
      client.destroy();
    },
  };
}

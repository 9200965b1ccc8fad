import { createAzureAuth } from '../../clients/azure/azure-auth.js';
import type { PredictInput } from '../../core/input.js';
import { parseOptions } from '../../core/options.js';
import { ModelshipError } from '../../errors/index.js';
import { mlflowOutputs, mlflowRequest, type FlatTensor } from './azureml-codec.js';
import { errorMessage, pause, readLimited, retryAfterMs } from './azureml-http.js';
import { azureMlVersionSchema, type AzureMlVersion } from './azureml-options.js';
import type { RemotePredictOptions, RemoteServable } from './remote-servable.js';
import { remoteSignal, v2Outputs, v2Request } from './v2-codec.js';

/** The audience of Microsoft Entra tokens for online endpoints with `auth_mode: aad_token`. */
export const AZUREML_ENDPOINT_SCOPE = 'https://ml.azure.com/.default';

const env = (name: string): string | undefined => (typeof process === 'undefined' ? undefined : process.env[name]);

/** Statuses sent again (Azure ML's troubleshooting table: 429 too many requests, 5xx the platform). */
const RETRY = new Set([429, 500, 502, 503, 504]);

/**
 * An Azure Machine Learning managed online endpoint as a deployment version. `predict` posts to the scoring URI
 * (`format: 'mlflow'`, `{"input_data": …}`) or to `/v2/models/<model>/infer` on its host (`format: 'v2'`, Triton),
 * with the endpoint key or a Microsoft Entra token as the bearer. `deployment` pins one deployment through the
 * `azureml-model-deployment` header (an answer naming another deployment is refused); otherwise the endpoint's
 * traffic split decides. 429 and 5xx are retried (a short `Retry-After` honoured), then UPSTREAM_UNAVAILABLE; 401/403
 * are REGISTRY_AUTH_FAILED; a model error (424) and other refusals are UPSTREAM_ERROR.
 *
 * @example
 * ```ts
 * const canary = {
 *   remote: { protocol: 'azureml', scoringUri: 'https://fraud.westeurope.inference.ml.azure.com/score', deployment: 'green', signature },
 * };
 * ```
 */
export async function createAzureMlVersion(options: AzureMlVersion): Promise<RemoteServable> {
  const remote = parseOptions(azureMlVersionSchema.shape.remote, options, 'createAzureMlVersion');
  const format = remote.format ?? 'mlflow';
  if (format === 'v2' && remote.model === undefined)
    throw new ModelshipError('INVALID_OPTIONS', "format: 'v2' needs model, the model's name on the Triton deployment.");
  if (format === 'mlflow' && remote.model !== undefined)
    throw new ModelshipError('INVALID_OPTIONS', "model names a Triton model: set format: 'v2' or remove model.");
  const mode = remote.auth ?? 'key';
  const key = remote.key ?? env('AZUREML_ENDPOINT_KEY');
  if (mode === 'key' && key === undefined)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      "auth: 'key' needs the endpoint key: pass key or set AZUREML_ENDPOINT_KEY (az ml online-endpoint get-credentials), or use auth: 'aad'.",
    );
  const aad = mode === 'aad' ? createAzureAuth(remote.credential) : undefined;
  const fetchImpl = remote.fetch ?? globalThis.fetch;
  const url =
    format === 'v2'
      ? new URL(`/v2/models/${encodeURIComponent(remote.model as string)}/infer`, remote.scoringUri).href
      : remote.scoringUri;
  const endpoint = new URL(remote.scoringUri).hostname.split('.')[0] as string;
  const timeoutMs = remote.timeoutMs ?? 10_000;
  const retries = remote.retries ?? 2;
  const maxWait = remote.maxRetryAfterMs ?? 1000;
  const maxBytes = remote.maxResponseBytes ?? 64 * 1024 * 1024;
  const where = `Azure ML endpoint ${endpoint}${remote.deployment === undefined ? '' : ` (deployment ${remote.deployment})`}`;
  const signature = remote.signature;
  // A key never appears in a message, even if a hostile endpoint echoes it back.
  const hide = (text: string): string => (key === undefined ? text : text.split(key).join('***'));
  let state: RemoteServable['state'] = 'ready';

  function refusal(res: Response, text: string): ModelshipError {
    const message = hide(errorMessage(text, res.status));
    if (res.status === 401 || res.status === 403)
      return new ModelshipError(
        'REGISTRY_AUTH_FAILED',
        mode === 'key'
          ? `${where} refused the endpoint key (HTTP ${res.status}); check it with az ml online-endpoint get-credentials, or regenerate it.`
          : `${where} refused the Microsoft Entra token (HTTP ${res.status}); the endpoint needs auth_mode aad_token and the identity the AzureML Data Scientist role (onlineEndpoints/score/action).`,
        { details: { status: res.status } },
      );
    if (res.status === 424) {
      // "If your model container returns a non-200 response, Azure returns a 424" with the container's status and
      // reason in these headers (how-to-troubleshoot-online-endpoints, "HTTP status codes").
      const code = (res.headers.get('ms-azureml-model-error-statuscode') ?? '').slice(0, 8);
      const reason = hide((res.headers.get('ms-azureml-model-error-reason') ?? '').slice(0, 200));
      return new ModelshipError(
        'UPSTREAM_ERROR',
        `${where} failed in the model (HTTP 424, container status ${code || 'unknown'}${reason ? `: ${reason}` : ''}); check the deployment's logs (az ml online-deployment get-logs).`,
        { details: { status: 424, ...(code ? { modelStatus: code } : {}) } },
      );
    }
    if (res.status === 404)
      return new ModelshipError(
        'UPSTREAM_ERROR',
        remote.deployment === undefined
          ? `${where} has no deployment to route to (${message}); give a deployment traffic, or set deployment.`
          : `${where} has no deployment ${remote.deployment} (${message}); check the name with az ml online-deployment list.`,
        { details: { status: 404 } },
      );
    return new ModelshipError('UPSTREAM_ERROR', `${where} refused the request (HTTP ${res.status}: ${message}).`, {
      details: { status: res.status },
    });
  }

  async function send(body: string, signal?: AbortSignal): Promise<unknown> {
    let lastError: ModelshipError | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(timeoutMs);
      const headers: Record<string, string> = {
        authorization: aad ? await aad.authorization(AZUREML_ENDPOINT_SCOPE, signal) : `Bearer ${key as string}`,
        'content-type': 'application/json',
        accept: 'application/json',
      };
      // "The azureml-model-deployment header will force the request to go to a specific deployment. Remove this
      // header to have the request observe the endpoint traffic rules" (Azure ML's generated consume snippet).
      if (remote.deployment !== undefined) headers['azureml-model-deployment'] = remote.deployment;
      let res: Response;
      let text: string;
      try {
        res = await fetchImpl(url, {
          method: 'POST',
          headers,
          body,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        text = await readLimited(res, maxBytes, where);
      } catch (error) {
        if (ModelshipError.isInstance(error)) throw error;
        if (signal?.aborted)
          throw new ModelshipError('ABORTED', `The request to ${where} was cancelled.`, { cause: error });
        lastError = new ModelshipError(
          'UPSTREAM_UNAVAILABLE',
          timeout.aborted
            ? `${where} did not answer within ${timeoutMs} ms; raise timeoutMs or the deployment's capacity.`
            : `${where} could not be reached.`,
          { cause: error },
        );
        continue;
      }
      if (res.ok) {
        // Azure ML names the deployment that answered in the same header: a pinned version refuses another's answer.
        const served = res.headers.get('azureml-model-deployment');
        if (remote.deployment !== undefined && served !== null && served !== remote.deployment)
          throw new ModelshipError(
            'UPSTREAM_ERROR',
            `${where} was answered by deployment ${served.slice(0, 40)}; the endpoint did not honour the pin.`,
          );
        try {
          return JSON.parse(text) as unknown;
        } catch (cause) {
          throw new ModelshipError('UPSTREAM_ERROR', `${where} answered with a body that is not JSON.`, { cause });
        }
      }
      if (!RETRY.has(res.status) && res.status !== 408) throw refusal(res, text);
      const wait = retryAfterMs(res);
      lastError = new ModelshipError(
        'UPSTREAM_UNAVAILABLE',
        res.status === 408
          ? `${where} ran past its request timeout (HTTP 408); raise request_timeout_ms in the deployment's request_settings.`
          : `${where} could not answer (HTTP ${res.status}: ${hide(errorMessage(text, res.status))}).`,
        { details: { status: res.status, ...(wait === undefined ? {} : { retryAfterMs: wait }) } },
      );
      // 408 is the deployment's own timeout: the same request would time out again.
      if (res.status === 408 || (wait !== undefined && wait > maxWait)) throw lastError;
      if (attempt < retries && wait !== undefined) await pause(wait, signal, where);
    }
    throw lastError as ModelshipError;
  }

  return {
    name: endpoint,
    version: remote.version ?? `azureml:${endpoint}${remote.deployment === undefined ? '' : `/${remote.deployment}`}`,
    signature,
    platform: 'azureml',
    metadata: { remote: `azureml:${endpoint}` },
    get state() {
      return state;
    },
    async predict(input: PredictInput, options: RemotePredictOptions = {}): ReturnType<RemoteServable['predict']> {
      if (state !== 'ready') throw new ModelshipError('NOT_READY', `${where} is closed.`);
      const signal = remoteSignal(options);
      if (format === 'v2') {
        const request = v2Request(signature, input, options.outputs);
        return v2Outputs(await send(JSON.stringify(request), signal), where);
      }
      const { inputs } = v2Request(signature, input) as { inputs: FlatTensor[] };
      const batch = inputs[0]?.shape[0] ?? 0;
      const answer = await send(JSON.stringify(mlflowRequest(inputs)), signal);
      return v2Outputs(mlflowOutputs(answer, signature, options.outputs, batch, where), where);
    },
    ready: () => Promise.resolve(),
    close: async () => {
      state = 'closed';
    },
  };
}

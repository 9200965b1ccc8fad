import { createGcpAuth } from '../../clients/gcp/gcp-auth.js';
import type { PredictInput } from '../../core/input.js';
import { toOipDatatype } from '../../core/oip-datatype.js';
import { parseOptions } from '../../core/options.js';
import { ModelshipError } from '../../errors/index.js';
import type { ModelSignature } from '../../spec/tensor.js';
import type { RemotePredictOptions, RemoteServable } from './remote-servable.js';
import { remoteSignal, v2Outputs, v2Request } from './v2-codec.js';
import { vertexVersionSchema, type VertexVersion } from './vertex-options.js';

interface V2Tensor {
  readonly name: string;
  readonly shape: number[];
  readonly datatype: string;
  readonly data: unknown[];
}

/** Rows of a flat row-major tensor: `shape[0]` nested arrays (or scalars for rank 1). */
function rows(t: V2Tensor): unknown[] {
  const [batch = 0, ...rest] = t.shape;
  const nest = (data: unknown[], dims: number[]): unknown => {
    if (dims.length === 0) return data[0];
    const [d, ...inner] = dims as [number, ...number[]];
    const step = data.length / d;
    return Array.from({ length: d }, (_, i) => nest(data.slice(i * step, (i + 1) * step), inner));
  };
  const step = batch === 0 ? 0 : t.data.length / batch;
  return Array.from({ length: batch }, (_, i) => nest(t.data.slice(i * step, (i + 1) * step), rest));
}

/** A nested row as its flat values and shape; UPSTREAM_ERROR when ragged or not numeric/boolean. */
function flatten(row: unknown, where: string): { data: unknown[]; shape: number[] } {
  if (!Array.isArray(row)) {
    if (typeof row !== 'number' && typeof row !== 'boolean')
      throw new ModelshipError('UPSTREAM_ERROR', `${where} answered a prediction value that is not a number.`);
    return { data: [row], shape: [] };
  }
  const parts = row.map((r) => flatten(r, where));
  const inner = parts[0]?.shape ?? [];
  if (parts.some((p) => p.shape.join() !== inner.join()))
    throw new ModelshipError('UPSTREAM_ERROR', `${where} answered ragged predictions.`);
  return { data: parts.flatMap((p) => p.data), shape: [row.length, ...inner] };
}

/** Vertex `:predict` body from the v2 request: one row per instance (an object of inputs when there are several). */
function instancesOf(request: { inputs: V2Tensor[] }): unknown[] {
  const byInput = request.inputs.map((t) => [t.name, rows(t)] as const);
  const count = byInput[0]?.[1].length ?? 0;
  if (byInput.length === 1) return byInput[0]?.[1] ?? [];
  return Array.from({ length: count }, (_, i) => Object.fromEntries(byInput.map(([name, r]) => [name, r[i]])));
}

/** Vertex `predictions` as v2 outputs: a row per instance (an object of outputs when there are several). */
function outputsOf(answer: unknown, signature: ModelSignature, batch: number, where: string): { outputs: V2Tensor[] } {
  const predictions = (answer as { predictions?: unknown } | null)?.predictions;
  if (!Array.isArray(predictions) || predictions.length !== batch)
    throw new ModelshipError('UPSTREAM_ERROR', `${where} answered without one prediction per instance.`);
  const single = signature.outputs.length === 1;
  const outputs = signature.outputs.map((o) => {
    const flat = predictions.map((p) =>
      flatten(
        single && !(p !== null && typeof p === 'object' && !Array.isArray(p) && o.name in p)
          ? p
          : (p as Record<string, unknown>)?.[o.name],
        where,
      ),
    );
    return {
      name: o.name,
      datatype: toOipDatatype(o.dtype),
      shape: [batch, ...(flat[0]?.shape ?? [])],
      data: flat.flatMap((f) => f.data),
    };
  });
  return { outputs };
}

/**
 * A Vertex AI endpoint as a deployment version. `predict` sends `instances` to `:predict` (or a KServe v2 body to
 * `:rawPredict`) with Application Default Credentials; `deployedModelId` pins one deployed model, otherwise Vertex's
 * traffic split decides. 429 and 5xx are retried, then UPSTREAM_UNAVAILABLE; 401/403 are REGISTRY_AUTH_FAILED; other
 * refusals UPSTREAM_ERROR with Vertex's message. The JSON is built here, not by @google-cloud/aiplatform, whose REST
 * fallback turns arrays inside `instances` rows into objects.
 *
 * @example
 * ```ts
 * const canary = { remote: { protocol: 'vertex', endpoint: 'projects/acme/locations/us-central1/endpoints/123', signature } };
 * ```
 */
export async function createVertexVersion(options: VertexVersion): Promise<RemoteServable> {
  const remote = parseOptions(vertexVersionSchema.shape.remote, options, 'createVertexVersion');
  const location = remote.endpoint.split('/')[3] as string;
  const root = (remote.apiEndpoint ?? `https://${location}-aiplatform.googleapis.com`).replace(/\/+$/, '');
  const method = remote.method ?? 'predict';
  const url = `${root}/v1/${remote.endpoint}:${method}`;
  const auth = createGcpAuth({
    ...(remote.credentials === undefined ? {} : { credentials: remote.credentials }),
    ...(remote.keyFilename === undefined ? {} : { keyFilename: remote.keyFilename }),
    ...(remote.accessToken === undefined ? {} : { accessToken: remote.accessToken }),
  });
  const timeoutMs = remote.timeoutMs ?? 10_000;
  const retries = remote.retries ?? 2;
  const id = remote.endpoint.split('/').pop() as string;
  const where = `Vertex AI endpoint ${id}${remote.deployedModelId === undefined ? '' : ` (deployed model ${remote.deployedModelId})`}`;
  const signature = remote.signature;
  let state: RemoteServable['state'] = 'ready';

  async function send(body: string, signal?: AbortSignal): Promise<unknown> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(timeoutMs);
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: await auth.authorization(signal),
            'content-type': 'application/json',
            ...(remote.deployedModelId === undefined
              ? {}
              : { 'x-vertex-ai-deployed-model-id': remote.deployedModelId }),
          },
          body,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (error) {
        if (ModelshipError.isInstance(error)) throw error;
        if (signal?.aborted)
          throw new ModelshipError('ABORTED', `The request to ${where} was cancelled.`, { cause: error });
        lastError = new ModelshipError('UPSTREAM_UNAVAILABLE', `${where} could not be reached.`, { cause: error });
        continue;
      }
      const text = await res.text();
      const served = res.headers.get('x-vertex-ai-deployed-model-id');
      // Vertex documents X-Vertex-AI-Deployed-Model-Id on answers only: a pinned version refuses another model's answer.
      if (res.ok && remote.deployedModelId !== undefined && served !== null && served !== remote.deployedModelId)
        throw new ModelshipError(
          'UPSTREAM_ERROR',
          `${where} was answered by deployed model ${served.slice(0, 40)}; the endpoint did not honour the pin (route with its traffic split instead).`,
        );
      if (res.ok) {
        try {
          return JSON.parse(text) as unknown;
        } catch (cause) {
          throw new ModelshipError('UPSTREAM_ERROR', `${where} answered with a body that is not JSON.`, { cause });
        }
      }
      let message = `HTTP ${res.status}`;
      try {
        const e = (JSON.parse(text) as { error?: { message?: string; status?: string } }).error;
        message = `${e?.status ?? res.status}: ${(e?.message ?? '').slice(0, 300)}`;
      } catch {
        // Not Google's error shape (a proxy's page): the status says enough.
      }
      if (res.status === 401 || res.status === 403)
        throw new ModelshipError(
          'REGISTRY_AUTH_FAILED',
          `${where} refused the credentials (${message}); check the service account's aiplatform.endpoints.predict permission.`,
        );
      if (res.status === 429 || res.status >= 500) {
        lastError = new ModelshipError('UPSTREAM_UNAVAILABLE', `${where} could not answer (${message}).`);
        continue;
      }
      throw new ModelshipError('UPSTREAM_ERROR', `${where} refused the request (${message}).`);
    }
    throw lastError;
  }

  return {
    name: id,
    version:
      remote.version ?? `vertex:${id}${remote.deployedModelId === undefined ? '' : `/${remote.deployedModelId}`}`,
    signature,
    platform: 'vertex',
    metadata: { remote: `vertex:${remote.endpoint}` },
    get state() {
      return state;
    },
    async predict(input: PredictInput, options: RemotePredictOptions = {}): ReturnType<RemoteServable['predict']> {
      if (state !== 'ready') throw new ModelshipError('NOT_READY', `${where} is closed.`);
      const signal = remoteSignal(options);
      const request = v2Request(signature, input, options.outputs) as { inputs: V2Tensor[] };
      if (method === 'rawPredict') return v2Outputs(await send(JSON.stringify(request), signal), where);
      const instances = instancesOf(request);
      const answer = await send(JSON.stringify({ instances }), signal);
      const outs = v2Outputs(outputsOf(answer, signature, instances.length, where), where);
      if (options.outputs === undefined) return outs;
      return Object.fromEntries(Object.entries(outs).filter(([k]) => options.outputs?.includes(k)));
    },
    ready: () => Promise.resolve(),
    close: async () => {
      state = 'closed';
    },
  };
}

import { parseOptions } from '../../core/options.js';
import { redactUrl } from '../../core/redact.js';
import type { PredictInput } from '../../core/input.js';
import { fromOipDatatype } from '../../core/oip-datatype.js';
import { assertVersionLabel } from '../../core/version-label.js';
import { ModelshipError, toModelshipError } from '../../errors/index.js';
import type { ModelSignature, TensorSpec } from '../../spec/tensor.js';
import { remoteVersionSchema, type RemoteVersion } from './remote-options.js';
import type { RemotePredictOptions, RemoteServable } from './remote-servable.js';
import { remoteSignal, v2Outputs, v2Request } from './v2-codec.js';

interface OipTensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

const RETRY_STATUS = new Set([502, 503, 504]);

function toSpec(meta: OipTensorMeta): TensorSpec {
  const dtype = fromOipDatatype(meta.datatype);
  if (dtype === undefined)
    throw new ModelshipError(
      'UPSTREAM_ERROR',
      `The remote model declares ${meta.name} as ${meta.datatype}, which modelship does not know.`,
    );
  return { name: meta.name, dtype, shape: meta.shape.map((d) => (d < 0 ? null : d)) };
}

/**
 * A version served by another server over KServe v2 / the Open Inference Protocol, as a model: the signature
 * comes from its metadata, `predict` posts to `/infer` with a per-attempt timeout and retries connection
 * failures and 502/503/504 (inference is idempotent). Failures map to UPSTREAM_UNAVAILABLE / UPSTREAM_ERROR.
 */
export async function createRemoteVersion(
  options: RemoteVersion,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<RemoteServable> {
  const remote = parseOptions(remoteVersionSchema.shape.remote, options, 'createRemoteVersion');
  const base = `${remote.url.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(remote.model)}${remote.version === undefined ? '' : `/versions/${encodeURIComponent(remote.version)}`}`;
  const timeoutMs = remote.timeoutMs ?? 10_000;
  const retries = remote.retries ?? 2;
  const shown = redactUrl(remote.url);
  const where = `${remote.model} at ${shown}`;

  async function call(path: string, init: RequestInit, signal?: AbortSignal): Promise<unknown> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        const res = await fetchImpl(`${base}${path}`, {
          ...init,
          headers: { 'content-type': 'application/json', ...remote.headers },
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        const text = await res.text();
        if (res.ok) return JSON.parse(text) as unknown;
        let message = text.slice(0, 200);
        try {
          message = String((JSON.parse(text) as { error?: unknown }).error ?? message);
        } catch {
          // not JSON
        }
        if (RETRY_STATUS.has(res.status)) {
          lastError = new ModelshipError('UPSTREAM_UNAVAILABLE', `${where} answered ${res.status}: ${message}`);
          continue;
        }
        throw new ModelshipError(
          res.status === 400 ? 'INVALID_INPUT' : 'UPSTREAM_ERROR',
          `${where} answered ${res.status}: ${message}`,
        );
      } catch (error) {
        if (ModelshipError.isInstance(error)) throw error;
        if (signal?.aborted)
          throw new ModelshipError('ABORTED', `The request to ${where} was cancelled.`, { cause: error });
        lastError = new ModelshipError(
          'UPSTREAM_UNAVAILABLE',
          `${where} could not be reached (${toModelshipError(error).message}).`,
          { cause: error },
        );
      }
    }
    throw lastError;
  }

  const meta = (await call('', { method: 'GET' })) as {
    name?: string;
    versions?: string[];
    platform?: string;
    inputs?: OipTensorMeta[];
    outputs?: OipTensorMeta[];
  };
  if (!Array.isArray(meta.inputs) || !Array.isArray(meta.outputs))
    throw new ModelshipError('UPSTREAM_ERROR', `${where} gave metadata without inputs and outputs.`);
  const signature: ModelSignature = { inputs: meta.inputs.map(toSpec), outputs: meta.outputs.map(toSpec) };
  const version = remote.version ?? meta.versions?.[0] ?? 'remote';
  assertVersionLabel(
    version,
    `${where} (its metadata)`,
    'UPSTREAM_ERROR',
    ' Set remote.version to the label to report.',
  );
  let state: RemoteServable['state'] = 'ready';
  return {
    name: remote.model,
    version,
    signature,
    platform: meta.platform ?? 'remote',
    metadata: { remote: shown },
    get state() {
      return state;
    },
    async predict(input: PredictInput, options: RemotePredictOptions = {}): ReturnType<RemoteServable['predict']> {
      if (state !== 'ready') throw new ModelshipError('NOT_READY', `Remote version ${where} is closed.`);
      const signal = remoteSignal(options);
      const body = v2Request(signature, input, options.outputs);
      return v2Outputs(await call('/infer', { method: 'POST', body: JSON.stringify(body) }, signal), where);
    },
    ready: () => Promise.resolve(),
    close: async () => {
      state = 'closed';
    },
  };
}

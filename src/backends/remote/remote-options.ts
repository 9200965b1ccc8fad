import { z } from 'zod';
import { DTYPES } from '../../core/dtype.js';
import type { DType } from '../../spec/tensor.js';
import { redactUrl } from '../../core/redact.js';
import { versionLabelSchema } from '../../core/version-label.js';
import { vertexVersionSchema, type VertexVersion } from './vertex-options.js';
import { azureMlVersionSchema, type AzureMlVersion } from './azureml-options.js';

function withoutUserInfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username === '' && u.password === '';
  } catch {
    return true; // .url() reports it
  }
}

/** A version served over HTTP by a KServe v2 / Open Inference Protocol server. */
export const remoteVersionSchema = z.strictObject({
  remote: z.strictObject({
    protocol: z.literal('v2'),
    /** Base URL of the server, e.g. `http://kserve.local:8080`; credentials go in `headers`, never in the URL. */
    url: z
      .string()
      .url()
      // Refused rather than used: the URL is shown in errors, logs and status, where a password must never be.
      .refine(
        withoutUserInfo,
        'the url must not contain user:password@; send credentials in headers, e.g. { authorization: "Basic …" }',
      ),
    /** Model name on that server. */
    model: z.string().min(1),
    /** Model version on that server (its default when absent); also the version label reported. */
    version: versionLabelSchema.optional(),
    /** Per-attempt timeout in ms (default 10 000). */
    timeoutMs: z.number().int().positive().optional(),
    /** Retries after a connection failure or a 502/503/504 (default 2); inference is idempotent. */
    retries: z.number().int().min(0).max(10).optional(),
    /** Extra request headers (an API key). */
    headers: z.record(z.string(), z.string()).optional(),
  }),
});

const tensorSpec = z.object({
  name: z.string().min(1),
  dtype: z.enum(DTYPES as [DType, ...DType[]]),
  shape: z.array(z.number().int().nonnegative().nullable()),
});

/**
 * A version served by a SageMaker real-time endpoint, called with `InvokeEndpoint` (`@aws-sdk/client-sagemaker-runtime`,
 * an optional peer) and KServe v2 JSON bodies (what Triton and v2-speaking containers accept as `application/json`).
 */
export const sageMakerVersionSchema = z.strictObject({
  remote: z.strictObject({
    protocol: z.literal('sagemaker'),
    endpointName: z
      .string()
      .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'endpointName must be a SageMaker endpoint name'),
    /** Send every request to this production variant (`TargetVariant`). */
    targetVariant: versionLabelSchema.optional(),
    /** The endpoint's inputs and outputs (SageMaker has no metadata call to ask). */
    signature: z.strictObject({ inputs: z.array(tensorSpec).min(1), outputs: z.array(tensorSpec).min(1) }),
    /** The version label reported (default the endpoint name, plus `/variant`). */
    version: versionLabelSchema.optional(),
    /** AWS region (default the AWS chain's). */
    region: z.string().min(1).optional(),
    /** A custom SageMaker runtime endpoint (a VPC endpoint, or a test server). */
    endpoint: z.string().url().optional(),
    /** Explicit credentials; omit to use the AWS credential chain. */
    credentials: z
      .object({ accessKeyId: z.string(), secretAccessKey: z.string(), sessionToken: z.string().optional() })
      .optional(),
    /** Per-attempt timeout in ms (default 10 000). */
    timeoutMs: z.number().int().positive().optional(),
    /** Retries after a connection failure, throttling or a 5xx (default 2); inference is idempotent. */
    retries: z.number().int().min(0).max(10).optional(),
  }),
});

/**
 * Every remote endpoint a deployment version can be (`{ remote: { protocol, … } }`), one schema per protocol:
 * spread into a union where references are accepted.
 */
export const remoteEndpointSchemas = [
  remoteVersionSchema,
  sageMakerVersionSchema,
  vertexVersionSchema,
  azureMlVersionSchema,
] as const;

/** A remote v2 version, as parsed. */
export type RemoteVersion = z.output<typeof remoteVersionSchema>['remote'];
/** A SageMaker endpoint version, as parsed. */
export type SageMakerVersion = z.output<typeof sageMakerVersionSchema>['remote'];
/** Any remote endpoint, as parsed: what {@link loadRemoteVersion} takes. */
export type RemoteEndpoint = RemoteVersion | SageMakerVersion | VertexVersion | AzureMlVersion;

/**
 * How a remote endpoint is shown in status, errors and evidence: `url#model` (the URL without credentials or
 * query), `sagemaker-endpoint:name[/variant]` or `azureml-endpoint:name[/deployment]`.
 */
export function describeRemote(remote: z.input<(typeof remoteEndpointSchemas)[number]>['remote']): string {
  if (remote.protocol === 'azureml') {
    let endpoint = '';
    try {
      endpoint = new URL(remote.scoringUri).hostname.split('.')[0] ?? '';
    } catch {
      // parsing reports the URL
    }
    return `azureml-endpoint:${endpoint}${remote.deployment === undefined ? '' : `/${remote.deployment}`}`;
  }
  if (remote.protocol === 'vertex')
    return `vertex-endpoint:${remote.endpoint.split('/').pop() ?? ''}${remote.deployedModelId === undefined ? '' : `/${remote.deployedModelId}`}`;
  if (remote.protocol === 'sagemaker')
    return `sagemaker-endpoint:${remote.endpointName}${remote.targetVariant === undefined ? '' : `/${remote.targetVariant}`}`;
  return `${redactUrl(remote.url)}#${remote.model}`;
}

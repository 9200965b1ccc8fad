import { z } from 'zod';
import type { AzureTokenCredential } from '../../clients/azure/azure-settings.js';
import { DTYPES } from '../../core/dtype.js';
import { versionLabelSchema } from '../../core/version-label.js';
import type { DType } from '../../spec/tensor.js';

const tensorSpec = z.object({
  name: z.string().min(1),
  dtype: z.enum(DTYPES as [DType, ...DType[]]),
  shape: z.array(z.number().int().nonnegative().nullable()),
});

/** An https URL without `user:password@`: the key or token rides in `Authorization`, so plain http is refused. */
function httpsWithoutUserInfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && u.username === '' && u.password === '';
  } catch {
    return true; // .url() reports it
  }
}

/**
 * A version served by an Azure Machine Learning managed online endpoint. `format: 'mlflow'` (default) posts
 * `{"input_data": …}` to the scoring URI, as no-code MLflow deployments (and Azure's generated consume snippets for
 * scoring scripts) expect; `format: 'v2'` posts a KServe v2 body to `/v2/models/<model>/infer` on the endpoint's
 * host, as Triton deployments answer. Without `deployment` the endpoint's traffic split picks a deployment.
 */
export const azureMlVersionSchema = z.strictObject({
  remote: z.strictObject({
    protocol: z.literal('azureml'),
    /** The endpoint's scoring URI, `https://<endpoint>.<region>.inference.ml.azure.com/score`. */
    scoringUri: z
      .string()
      .url()
      .refine(
        httpsWithoutUserInfo,
        'scoringUri must be an https URL without user:password@ (the key is sent in the Authorization header)',
      ),
    /**
     * Send every request to this deployment (`azureml-model-deployment` header), bypassing the endpoint's traffic
     * split. Azure names deployments with 3–32 letters, digits and hyphens, starting with a letter.
     */
    deployment: z
      .string()
      .regex(/^[a-zA-Z][a-zA-Z0-9-]{2,31}$/, 'deployment must be an Azure ML deployment name (3-32 letters, digits, -)')
      .optional(),
    /** `key` (default): the endpoint key as a bearer token; `aad`: a Microsoft Entra token for `https://ml.azure.com`. */
    auth: z.enum(['key', 'aad']).optional(),
    /** The endpoint key (default `$AZUREML_ENDPOINT_KEY`); only for `auth: 'key'`. */
    key: z.string().min(1).optional(),
    /** A token credential for `auth: 'aad'` (default `DefaultAzureCredential` from `@azure/identity`). */
    credential: z
      .custom<AzureTokenCredential>(
        (v) => typeof v === 'object' && v !== null && typeof (v as AzureTokenCredential).getToken === 'function',
        'credential must be a TokenCredential (an object with getToken)',
      )
      .optional(),
    /** `mlflow` (default: `input_data` in, the predictions out) or `v2` (Open Inference Protocol, Triton). */
    format: z.enum(['mlflow', 'v2']).optional(),
    /** The model name on a Triton deployment (`format: 'v2'` only, where it is required). */
    model: z.string().min(1).max(256).optional(),
    /** The endpoint's inputs and outputs (Azure has no metadata call for MLflow deployments). */
    signature: z.strictObject({ inputs: z.array(tensorSpec).min(1), outputs: z.array(tensorSpec).min(1) }),
    /** The version label reported (default `azureml:<endpoint>[/<deployment>]`). */
    version: versionLabelSchema.optional(),
    /** Per-attempt timeout in ms (default 10 000). */
    timeoutMs: z.number().int().positive().optional(),
    /** Retries after a connection failure, a timeout, 429 or 5xx (default 2); inference is idempotent. */
    retries: z.number().int().min(0).max(10).optional(),
    /** Longest `Retry-After` waited for before a retry (default 1 000 ms); a longer one fails at once. */
    maxRetryAfterMs: z.number().int().min(0).max(60_000).optional(),
    /** Largest answer read, in bytes (default 64 MiB); a larger one is UPSTREAM_ERROR. */
    maxResponseBytes: z.number().int().positive().optional(),
    /** A WHATWG fetch to send requests through (a proxy, a private CA); default the global fetch. */
    fetch: z.custom<typeof globalThis.fetch>((v) => typeof v === 'function', 'fetch must be a function').optional(),
  }),
});

/** An Azure ML managed online endpoint version, as parsed. */
export type AzureMlVersion = z.output<typeof azureMlVersionSchema>['remote'];

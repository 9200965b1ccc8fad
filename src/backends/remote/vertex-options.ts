import { z } from 'zod';
import { DTYPES } from '../../core/dtype.js';
import { versionLabelSchema } from '../../core/version-label.js';
import type { DType } from '../../spec/tensor.js';

const tensorSpec = z.object({
  name: z.string().min(1),
  dtype: z.enum(DTYPES as [DType, ...DType[]]),
  shape: z.array(z.number().int().nonnegative().nullable()),
});

/**
 * A version served by a Vertex AI endpoint: `:predict` for JSON models (`instances` → `predictions`), `:rawPredict`
 * for Open Inference Protocol (KServe v2) containers. Without `deployedModelId` the endpoint's own traffic split
 * picks the deployed model; with it, every request goes to that deployed model.
 */
export const vertexVersionSchema = z.strictObject({
  remote: z.strictObject({
    protocol: z.literal('vertex'),
    /** `projects/<p>/locations/<l>/endpoints/<id>`. */
    endpoint: z
      .string()
      .regex(
        /^projects\/[a-z0-9-]{1,64}\/locations\/[a-z0-9-]{1,64}\/endpoints\/[a-zA-Z0-9_-]{1,128}$/,
        'endpoint must be projects/<p>/locations/<l>/endpoints/<id>',
      ),
    /**
     * Send every request to this deployed model (`X-Vertex-AI-Deployed-Model-Id` on the request), bypassing the
     * traffic split; an answer whose `X-Vertex-AI-Deployed-Model-Id` names another deployed model is refused.
     */
    deployedModelId: z
      .string()
      .regex(/^\d{1,20}$/, 'deployedModelId is the numeric id of a deployed model')
      .optional(),
    /** `predict` (default: JSON `instances`/`predictions`) or `rawPredict` (a KServe v2 body as is). */
    method: z.enum(['predict', 'rawPredict']).optional(),
    /** The endpoint's inputs and outputs (needed to build instances and read predictions). */
    signature: z.strictObject({ inputs: z.array(tensorSpec).min(1), outputs: z.array(tensorSpec).min(1) }),
    /** The version label reported (default `vertex:<endpoint id>[/<deployedModelId>]`). */
    version: versionLabelSchema.optional(),
    /** API root (default `https://<location>-aiplatform.googleapis.com`; a private endpoint or a test server). */
    apiEndpoint: z.string().url().optional(),
    /** Service-account key JSON; default Application Default Credentials. */
    credentials: z.looseObject({ type: z.string().min(1) }).optional(),
    /** Path of a credentials JSON file (default `$GOOGLE_APPLICATION_CREDENTIALS`, then ADC). */
    keyFilename: z.string().min(1).optional(),
    /** A ready access token instead of ADC. */
    accessToken: z.string().min(1).optional(),
    /** Per-attempt timeout in ms (default 10 000). */
    timeoutMs: z.number().int().positive().optional(),
    /** Retries after a connection failure, 429 or 5xx (default 2); inference is idempotent. */
    retries: z.number().int().min(0).max(10).optional(),
  }),
});

/** A Vertex AI endpoint version, as parsed. */
export type VertexVersion = z.output<typeof vertexVersionSchema>['remote'];

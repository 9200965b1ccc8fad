/**
 * The KServe objects deploy/kserve uses, as zod schemas written from KServe v0.20's API reference
 * (serving.kserve.io/v1alpha1 ServingRuntimeSpec, serving.kserve.io/v1beta1 InferenceServiceSpec / PredictorSpec /
 * ModelSpec). Strict: a field KServe does not have (or a misspelt one) fails, as the API server's structural
 * schema would prune or reject it. Containers are checked with kubernetes-models' io.k8s.api.core.v1.Container.
 */
import { z } from 'zod';

const name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .max(63);
const metadata = z.object({
  name,
  namespace: name.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** `protocolVersions` values (constants.InferenceServiceProtocol). */
export const PROTOCOLS = ['v1', 'v2', 'grpc-v1', 'grpc-v2'] as const;

/** ServingRuntimeSpec: supportedModelFormats, protocolVersions, multiModel, containers (+ pod fields we do not use). */
export const clusterServingRuntimeSchema = z.strictObject({
  apiVersion: z.literal('serving.kserve.io/v1alpha1'),
  kind: z.literal('ClusterServingRuntime'),
  metadata,
  spec: z.strictObject({
    supportedModelFormats: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          version: z.string().optional(),
          autoSelect: z.boolean().optional(),
          priority: z.number().int().min(1).optional(),
        }),
      )
      .min(1),
    protocolVersions: z.array(z.enum(PROTOCOLS)).min(1),
    multiModel: z.boolean().optional(),
    disabled: z.boolean().optional(),
    containers: z.array(z.record(z.string(), z.unknown())).min(1),
  }),
});

/** ModelSpec: the model format, the protocol, the runtime and where the model is. */
const modelSpec = z.strictObject({
  modelFormat: z.strictObject({ name: z.string().min(1), version: z.string().optional() }),
  protocolVersion: z.enum(PROTOCOLS).optional(),
  runtime: name.optional(),
  storageUri: z.string().min(1),
  resources: z.record(z.string(), z.unknown()).optional(),
});

/** InferenceService with a predictor (PredictorSpec's ComponentExtensionSpec fields we use, and `model`). */
export const inferenceServiceSchema = z.strictObject({
  apiVersion: z.literal('serving.kserve.io/v1beta1'),
  kind: z.literal('InferenceService'),
  metadata,
  spec: z.strictObject({
    predictor: z.strictObject({
      minReplicas: z.number().int().min(0).optional(),
      maxReplicas: z.number().int().min(0).optional(),
      canaryTrafficPercent: z.number().int().min(0).max(100).optional(),
      model: modelSpec,
    }),
  }),
});

/** The deployment mode an InferenceService asks for (`serving.kserve.io/deploymentMode`; KServe's default is Serverless). */
export function deploymentMode(isvc: z.infer<typeof inferenceServiceSchema>): string {
  return isvc.metadata.annotations?.['serving.kserve.io/deploymentMode'] ?? 'Serverless';
}

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

/** PredictorSpec's ComponentExtensionSpec fields we use, and `model` (pkg/apis/serving/v1beta1/component.go). */
const predictorFields = {
  minReplicas: z.number().int().min(0).optional(),
  maxReplicas: z.number().int().min(0).optional(),
  canaryTrafficPercent: z.number().int().min(0).max(100).optional(),
  model: modelSpec,
};

/**
 * CanarySpec, added in KServe v0.20 for Standard (RawDeployment) mode by kserve/kserve#5672
 * (pkg/apis/serving/v1beta1/inference_service.go: `Canary []CanarySpec json:"canary,omitempty"`, +listType=atomic):
 * `trafficPercent` 0-100 and a full `predictor` whose `name` is required (it names the canary's Deployment and
 * Service, `{isvc}-{name}-predictor`). The canary runs fixed replicas: `minReplicas` or a share of stable's
 * derived from trafficPercent; the webhook refuses autoscaling fields, so maxReplicas is not allowed here.
 */
const canarySpec = z.strictObject({
  trafficPercent: z.number().int().min(0).max(100),
  predictor: z.strictObject({ name, minReplicas: predictorFields.minReplicas, model: modelSpec }),
});

/** InferenceService with a predictor, and `canary[]` (Standard mode only). */
export const inferenceServiceSchema = z
  .strictObject({
    apiVersion: z.literal('serving.kserve.io/v1beta1'),
    kind: z.literal('InferenceService'),
    metadata,
    spec: z.strictObject({
      predictor: z.strictObject(predictorFields),
      canary: z.array(canarySpec).optional(),
    }),
  })
  // The v0.20 validation webhook's canary rules (kserve/kserve#5672, docs issue kserve/website#734): Standard mode
  // only, unique names, the percentages sum to at most 100.
  .superRefine((isvc, ctx) => {
    const canaries = isvc.spec.canary ?? [];
    if (canaries.length === 0) return;
    const mode = isvc.metadata.annotations?.['serving.kserve.io/deploymentMode'] ?? 'Serverless';
    if (mode !== 'Standard' && mode !== 'RawDeployment')
      ctx.addIssue({ code: 'custom', path: ['spec', 'canary'], message: 'spec.canary is for Standard mode only' });
    const names = canaries.map((c) => c.predictor.name);
    if (new Set(names).size !== names.length)
      ctx.addIssue({ code: 'custom', path: ['spec', 'canary'], message: 'canary names must be unique' });
    if (canaries.reduce((sum, c) => sum + c.trafficPercent, 0) > 100)
      ctx.addIssue({ code: 'custom', path: ['spec', 'canary'], message: 'canary trafficPercent sums over 100' });
  });

/** The deployment mode an InferenceService asks for (`serving.kserve.io/deploymentMode`; KServe's default is Serverless). */
export function deploymentMode(isvc: z.infer<typeof inferenceServiceSchema>): string {
  return isvc.metadata.annotations?.['serving.kserve.io/deploymentMode'] ?? 'Serverless';
}

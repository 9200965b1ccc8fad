/** The SageMaker Model Registry adapter (model packages, `model.tar.gz` on S3). Node-only; needs @aws-sdk/client-sagemaker. */
export { createSageMakerRegistry, type SageMakerRegistry } from './sagemaker-registry.js';
export {
  sageMakerRegistryOptionsSchema,
  parseSageMakerRegistryOptions,
  type SageMakerRegistryOptions,
} from './sagemaker-registry-options.js';
export { parseSageMakerRef, type SageMakerRef } from './ref.js';
export type { SageMakerPublishInput } from './publish.js';

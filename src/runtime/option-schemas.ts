/**
 * The zod schemas behind each Node factory's options, in one place for tooling that validates options before
 * calling the factories: the `modelship` command's config file is built from these, so a key the library
 * refuses is refused there too, with the same message.
 */
import { deploymentOptionsSchema } from '../routing/index.js';
import { handlerOptionsSchema } from '../http/handler-options.js';
import { serveOptionsSchema } from '../http/node/serve-options.js';
import { loadModelOptionsSchema } from '../serving/load-model-options.js';
import { localRegistryOptionsSchema } from '../registries/local/local-registry-options.js';
import { httpRegistryOptionsSchema } from '../registries/http/http-registry-options.js';
import { mlflowRegistryOptionsSchema } from '../registries/mlflow/mlflow-registry-options.js';
import { wandbRegistryOptionsSchema } from '../registries/wandb/wandb-registry-options.js';
import { sageMakerRegistryOptionsSchema } from '../registries/sagemaker/sagemaker-registry-options.js';
import { dvcRegistryOptionsSchema } from '../registries/dvc/dvc-registry-options.js';
import { vertexRegistryOptionsSchema } from '../registries/vertex/vertex-registry-options.js';
import { azureMlRegistryOptionsSchema } from '../registries/azureml/azureml-registry-options.js';
import { localTrackerOptionsSchema } from '../tracking/local/local-tracker-options.js';
import { mlflowTrackerOptionsSchema } from '../tracking/mlflow/mlflow-tracker-options.js';
import { wandbTrackerOptionsSchema } from '../tracking/wandb/wandb-tracker-options.js';

/**
 * The option schemas (zod) of `loadModel`, `createDeployment`, `createHandler`, `serve`, the registries and the
 * trackers. Parse with them to check options ahead of time; the factories parse with the same schemas.
 *
 * @example
 * ```ts
 * const result = optionSchemas.loadModel.safeParse({ workers: 2, batching: { maxBatchSize: 32 } });
 * if (!result.success) console.error(result.error.issues);
 * ```
 */
export const optionSchemas = {
  loadModel: loadModelOptionsSchema,
  deployment: deploymentOptionsSchema,
  handler: handlerOptionsSchema,
  serve: serveOptionsSchema,
  localRegistry: localRegistryOptionsSchema,
  httpRegistry: httpRegistryOptionsSchema,
  mlflowRegistry: mlflowRegistryOptionsSchema,
  wandbRegistry: wandbRegistryOptionsSchema,
  sageMakerRegistry: sageMakerRegistryOptionsSchema,
  dvcRegistry: dvcRegistryOptionsSchema,
  vertexRegistry: vertexRegistryOptionsSchema,
  azureMlRegistry: azureMlRegistryOptionsSchema,
  localTracker: localTrackerOptionsSchema,
  mlflowTracker: mlflowTrackerOptionsSchema,
  wandbTracker: wandbTrackerOptionsSchema,
} as const;

import { createMlflowRegistry } from 'modelship';
import { mlflowSharedStateModels, MLFLOW_SHARED_STATE_TAG } from '../../src/registries/mlflow/shared-state.js';
import { disagreeingMnist } from '../helpers/deployments.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { MlflowTestServer } from '../servers/mlflow/server.js';
import { describeFleet } from './fleet-scenario.js';

// The MLflow test server as the one registry: the shared state is a registered-model tag, written under a lock
// that is itself a registered model (MLflow has no conditional update; create is atomic).
describeFleet('the MLflow test server', async () => {
  const server = new MlflowTestServer();
  await server.start();
  const registry = createMlflowRegistry({ trackingUri: server.url, cacheDir: await tempDir() });
  await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['production'] });
  await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, aliases: ['candidate'] });
  await registry.publish({ name: 'mnist', bytes: disagreeingMnist(), aliases: ['rotated'] });
  return {
    env: { FLEET_MLFLOW_URI: server.url, MODELSHIP_CACHE_DIR: await tempDir() },
    setProduction: (version) => registry.setAlias('mnist', 'production', version),
    async sharedStable(deployment) {
      const tag = server.models.get(mlflowSharedStateModels(deployment).state)?.tags.get(MLFLOW_SHARED_STATE_TAG);
      if (tag === undefined) return undefined;
      const { document } = JSON.parse(tag) as { document: string };
      return (JSON.parse(document) as { stable: { version: string } }).stable.version;
    },
    close: () => server.stop(),
  };
});

import { deploymentRegistry } from '../helpers/deployments.js';
import { describeFleet } from './fleet-scenario.js';

// The local registry on one directory: the replicas share it as pods share a volume.
describeFleet('one local registry', async () => {
  const registry = await deploymentRegistry();
  return {
    env: { FLEET_REGISTRY_ROOT: registry.root },
    setProduction: (version) => registry.setAlias('mnist', 'production', version),
    async sharedStable(deployment) {
      const entry = await registry.sharedState.read(deployment);
      return entry && (JSON.parse(entry.document) as { stable: { version: string } }).stable.version;
    },
    close: async () => undefined,
  };
});

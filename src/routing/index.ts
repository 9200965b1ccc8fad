export { startDeployment } from './deployment.js';
export type { DeploymentLoaders, RemoteVersionLoader, VersionLoader } from './version-loading.js';
export { deploymentOptionsSchema, type DeploymentOptions, type VersionRef } from './deployment-options.js';
export type {
  ChangeReason,
  Deployment,
  DeploymentEvent,
  DeploymentEvents,
  DeploymentStatus,
  VersionStatus,
} from './deployment-types.js';
export type { MirrorStats } from './mirror.js';

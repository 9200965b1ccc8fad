export { createDeploymentWith, type VersionLoader } from './deployment.js';
export { deploymentOptionsSchema, type DeploymentOptions, type VersionRef, type RemoteVersion, type SageMakerVersion } from './deployment-options.js';
export type { ChangeReason, Deployment, DeploymentEvent, DeploymentEvents, DeploymentStatus, VersionStatus } from './deployment-types.js';
export type { MirrorStats } from './mirror.js';
export { createRemoteVersion } from './remote-version.js';
export { createSageMakerVersion } from './sagemaker-version.js';

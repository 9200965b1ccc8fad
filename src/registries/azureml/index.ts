/** The Azure Machine Learning registry adapter (Node): ARM model versions, blob storage, Azure AD credentials. */
export { createAzureMlRegistry, type AzureMlRegistry } from './azureml-registry.js';
export { parseAzureMlRef, type AzureMlRef } from './ref.js';
export type { AzureMlRegistryOptions } from './azureml-registry-options.js';
export type { AzureMlPublishInput } from './publish.js';
export type { AzureTokenCredential } from '../../clients/azure/azure-settings.js';

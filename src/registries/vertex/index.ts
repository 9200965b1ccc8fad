/** The Vertex AI Model Registry adapter (Node): models.get/listVersions/upload, gs:// artifacts, ADC credentials. */
export { createVertexRegistry, type VertexRegistry } from './vertex-registry.js';
export { parseVertexRef, type VertexRef } from './ref.js';
export type { VertexRegistryOptions } from './vertex-registry-options.js';
export type { VertexPublishInput } from './publish.js';

/** Lineage collection: git, data digests, DVC and Git LFS. Node-only. */
export { collectLineage, type CollectLineageOptions } from './collect-lineage.js';

export type * from './tensor.js';
export type * from './backend.js';
export type * from './registry.js';
export type * from './tracking.js';
export type * from './lineage.js';
export type * from './shared-state.js';

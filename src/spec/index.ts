export type * from './tensor.js';
export type * from './backend.js';
export type * from './registry.js';

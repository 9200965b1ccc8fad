export { createWorkerBackend, type WorkerBackend, type WorkerLike } from './worker-backend.js';
export { serveBackend } from './serve-backend.js';
export type { MessageEndpoint } from './protocol.js';

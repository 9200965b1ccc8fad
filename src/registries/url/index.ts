/** Models addressed by URL (`https://…#sha256=…`, `s3://bucket/key`), through the model cache. Node-only. */
export { fetchModelUrl, type FetchUrlOptions } from './fetch-url.js';

export { ERROR_CODES, type ErrorCode } from './codes.js';
export { ModelshipError, toModelshipError, type ModelshipErrorOptions } from './modelship-error.js';
export { causeChain } from './cause-chain.js';

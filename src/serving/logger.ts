// The logger lives in core so that every layer (tracking, registries) can log the same way.
export { defaultLogger, silentLogger, type Logger } from '../core/logger.js';

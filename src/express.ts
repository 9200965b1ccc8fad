/**
 * `modelship/express`: Express/Connect middleware serving modelship's routes.
 * @packageDocumentation
 */
export { createMiddleware, type ModelshipMiddleware, type MiddlewareRequest } from './http/node/express.js';

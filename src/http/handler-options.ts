import { z } from 'zod';
import { parseOptions } from '../core/options.js';
import type { Logger } from '../serving/logger.js';
import type { Servable } from '../serving/servable.js';
import { observeOptionsShape } from './observe-options.js';

const isServable = (v: unknown): v is Servable =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Servable).predict === 'function' &&
  typeof (v as Servable).name === 'string' &&
  typeof (v as Servable).version === 'string';

/** Default request body limit: 8 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Options for `createHandler`. */
export const handlerOptionsSchema = z.strictObject({
  /** Models to serve. The first is the one `POST /predict` uses; for a name given twice, the first is the default version. */
  models: z
    .array(
      z.custom<Servable>(
        isServable,
        'each model must be a loaded model (from loadModel) or a deployment (from createDeployment)',
      ),
    )
    .min(1, 'give at least one model'),
  /** Largest request body accepted, in bytes; enforced while reading (default 8 MiB). */
  maxBodyBytes: z.number().int().positive().optional(),
  /** A path prefix the routes live under, e.g. `/api` for `/api/predict`. */
  basePath: z
    .string()
    .regex(/^(\/[^/]+)*$/, 'basePath must start with "/" and not end with one, e.g. "/api"')
    .optional(),
  /**
   * Enables `GET/POST /admin/deployments/{name}` (status, promote, rollback, weights) behind this bearer token
   * (at least 16 printable ASCII characters, no whitespace: anything else could never match what a client
   * sends in `Authorization: Bearer <token>`). Off when absent: the routes then answer 404.
   */
  admin: z
    .strictObject({
      token: z
        .string()
        .min(16, 'the admin token must be at least 16 characters')
        // Checked here, not at the first request: such a token would lock every admin out, silently.
        .regex(
          /^[\x21-\x7e]*$/,
          'the admin token must be printable ASCII without whitespace (no spaces, tabs or line breaks, which a bearer header cannot carry)',
        ),
    })
    .optional(),
  ...observeOptionsShape,
  /** Whether `handler.close()` also closes the models (default true). */
  closeModels: z.boolean().optional(),
  logger: z
    .custom<Logger>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Logger).error === 'function',
      'logger must be console-like',
    )
    .optional(),
});

/** Options for `createHandler`. */
export type HandlerOptions = z.input<typeof handlerOptionsSchema>;

/** Parses handler options, turning zod's report into an INVALID_OPTIONS error. */
export function parseHandlerOptions(options: unknown): z.output<typeof handlerOptionsSchema> {
  return parseOptions(handlerOptionsSchema, options, 'createHandler');
}

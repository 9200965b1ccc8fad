import { z } from 'zod';
import { parseOptions } from '../core/options.js';
import { ModelshipError } from '../errors/index.js';
import type { ServableModel } from './servable.js';

/** A model the repository can hold: a loaded model, with its file size in bytes when known (`Model.size`). */
export type RepositoryModel = ServableModel & { readonly size?: number };

/** Loads a registered model from its ref (`loadModel` fits); called on its first request and after each unload. */
export type RepositoryLoader = (ref: string) => Promise<RepositoryModel>;

/** Names as Triton accepts them in a model repository; anything else (paths, URLs) is refused at creation. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Options for `createModelRepository`. */
export const modelRepositoryOptionsSchema = z.strictObject({
  /**
   * The models that may be served, by name: `{ mnist: './mnist.onnx', iris: 'iris@production' }`. Nothing is
   * loaded until a model is first asked for (or loaded with `load(name)` / `POST /v2/repository/models/{name}/load`).
   */
  models: z
    .record(z.string().regex(NAME, 'model names must be letters, digits, ".", "_" or "-"'), z.string().min(1))
    .refine((m) => Object.keys(m).length > 0, 'give at least one model'),
  /** Loads one model: pass `loadModel` (or a function that calls it with your options). */
  load: z.custom<RepositoryLoader>((v) => typeof v === 'function', 'load must be a function, e.g. loadModel'),
  /** At most this many models loaded at once; idle least-recently-used models are unloaded to make room. */
  maxLoadedModels: z.number().int().positive().optional(),
  /**
   * At most this many bytes of model files loaded at once (the sum of `Model.size`); idle least-recently-used
   * models are unloaded to stay under it.
   */
  maxLoadedBytes: z.number().int().positive().optional(),
  /** Load these names at creation, in this order (the rest load lazily). */
  preload: z.array(z.string()).optional(),
});

/** Options for `createModelRepository`. */
export type ModelRepositoryOptions = z.input<typeof modelRepositoryOptionsSchema>;

/** Parses repository options once at the boundary (INVALID_OPTIONS otherwise). */
export function parseModelRepositoryOptions(options: unknown): z.output<typeof modelRepositoryOptionsSchema> {
  const parsed = parseOptions(
    modelRepositoryOptionsSchema,
    options,
    'createModelRepository',
    'Example: createModelRepository({ models: { mnist: "./mnist.onnx" }, load: loadModel, maxLoadedModels: 4 })',
  );
  for (const name of parsed.preload ?? []) {
    if (!Object.hasOwn(parsed.models, name)) {
      throw new ModelshipError(
        'INVALID_OPTIONS',
        `preload names "${name}", which is not in models; list only names of models.`,
      );
    }
  }
  return parsed;
}

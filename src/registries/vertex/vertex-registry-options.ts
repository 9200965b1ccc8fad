import { z } from 'zod';
import { gcpOptionsShape } from '../../clients/gcp/gcp-settings.js';
import { parseOptions } from '../../core/options.js';
import { remoteOptionsShape } from '../kit/remote-options.js';

/** Options for {@link createVertexRegistry}. Project, location and credentials default to the environment (ADC). */
export const vertexRegistryOptionsSchema = z.strictObject({
  ...gcpOptionsShape,
  /** Bucket `publish` uploads to: `gs://<bucket>/<prefix>/<model>/<uuid>/model.onnx`. */
  bucket: z.string().min(3).optional(),
  /** Object prefix for `publish` uploads (default `modelship`). */
  prefix: z.string().optional(),
  /** Serving container image recorded by `publish` (`containerSpec.imageUri`; Vertex requires one for custom models). */
  image: z.string().min(1).optional(),
  /** The file to load from `artifactUri` when the folder holds several `.onnx` files. */
  file: z.string().min(1).optional(),
  /** Whether `publish` makes the new version the model's `default` (default true, as the Vertex SDK's `is_default_version`). */
  makeDefault: z.boolean().optional(),
  /** First wait (ms) between polls of models.upload's long-running operation, doubled up to 10 s (default 1000). */
  operationPollMs: z.number().int().min(1).max(60_000).optional(),
  /** Longest wait (ms) for models.upload's operation to finish (default 600 000). */
  operationTimeoutMs: z.number().int().min(1).optional(),
  /** Default polling interval (ms) for `watch` (default 60 000), spread by ±10 % jitter. */
  watchIntervalMs: z.number().int().min(1).max(86_400_000).optional(),
  ...remoteOptionsShape,
});

/** Options accepted by {@link createVertexRegistry}. */
export type VertexRegistryOptions = z.input<typeof vertexRegistryOptionsSchema>;

/** Validates options once at the boundary; throws INVALID_OPTIONS describing every problem. */
export function parseVertexRegistryOptions(options: unknown): z.output<typeof vertexRegistryOptionsSchema> {
  return parseOptions(
    vertexRegistryOptionsSchema,
    options ?? {},
    'Vertex AI registry',
    "Pass { project: 'my-project', location: 'us-central1' } (credentials come from Application Default Credentials).",
  );
}

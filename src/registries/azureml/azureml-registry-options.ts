import { z } from 'zod';
import { azureOptionsShape } from '../../clients/azure/azure-settings.js';
import { parseOptions } from '../../core/options.js';
import { remoteOptionsShape } from '../kit/remote-options.js';

const resourceName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$/, 'an Azure ML workspace or registry name');

/** Options for {@link createAzureMlRegistry}: a workspace or an Azure ML registry, and Azure credentials. */
export const azureMlRegistryOptionsSchema = z.strictObject({
  ...azureOptionsShape,
  /** Workspace name (default `$AZUREML_ARM_WORKSPACE_NAME`, set inside Azure ML jobs). */
  workspace: resourceName.optional(),
  /** An Azure ML registry instead of a workspace (read-only here: publish to a workspace, then share it). */
  registry: resourceName.optional(),
  /** ARM api-version of the Microsoft.MachineLearningServices calls (default `2024-04-01`). */
  apiVersion: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/)
    .optional(),
  /** Workspace datastore `publish` uploads to (default `workspaceblobstore`, every workspace's default). */
  datastore: z.string().min(1).optional(),
  /** Blob prefix for `publish` uploads (default `modelship`). */
  prefix: z.string().optional(),
  /** The file to load from a model folder when it holds several `.onnx` files. */
  file: z.string().min(1).optional(),
  /** Default polling interval (ms) for `watch` (default 60 000), spread by ±10 % jitter. */
  watchIntervalMs: z.number().int().min(1).max(86_400_000).optional(),
  /** Largest number of `nextLink` pages followed when listing versions (default 1000): a guard against a loop. */
  maxPages: z.number().int().min(1).optional(),
  ...remoteOptionsShape,
});

/** Options accepted by {@link createAzureMlRegistry}. */
export type AzureMlRegistryOptions = z.input<typeof azureMlRegistryOptionsSchema>;

/** The parsed options. */
export type ParsedAzureMlOptions = z.output<typeof azureMlRegistryOptionsSchema>;

/** Validates options once at the boundary; throws INVALID_OPTIONS describing every problem. */
export function parseAzureMlRegistryOptions(options: unknown): ParsedAzureMlOptions {
  return parseOptions(
    azureMlRegistryOptionsSchema,
    options ?? {},
    'Azure ML registry',
    "Pass { subscriptionId, resourceGroup, workspace: 'my-ws' } (or registry instead of workspace); credentials come from DefaultAzureCredential.",
  );
}

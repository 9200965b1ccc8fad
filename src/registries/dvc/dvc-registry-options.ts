import { z } from 'zod';
import { azureOptionsShape } from '../../clients/azure/azure-settings.js';
import { parseOptions } from '../../core/options.js';
import { remoteOptionsShape } from '../kit/remote-options.js';

/** Options for {@link createDvcRegistry}. */
export const dvcRegistryOptionsSchema = z.strictObject({
  /** The Git repository: a local path or a git URL (`https://…`, `ssh://…`, `git@host:org/repo.git`), cloned into the cache. */
  repo: z.string().min(1),
  /**
   * The DVC remote to read and push models: a remote name from the repository's `.dvc/config` (default: its
   * `core.remote`), or a remote URL / directory that replaces it (`s3://bucket/dvcstore`, `/mnt/dvc-cache`).
   */
  remote: z.string().min(1).optional(),
  /** The branch `publish` commits to (default: the repository's default branch). */
  branch: z
    .string()
    .regex(/^(?!-)[\w./-]{1,200}$/)
    .optional(),
  /** Author and committer of the commits and tags `publish` and `setAlias` create (default: git's configuration, else `modelship`). */
  author: z.strictObject({ name: z.string().min(1), email: z.string().min(1) }).optional(),
  /** Git LFS: the LFS server (default: `.lfsconfig`'s `lfs.url`, else `<repo URL>/info/lfs`) and headers (a token). */
  lfs: z
    .strictObject({
      url: z.string().url().optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  /**
   * A `gs://` DVC remote: the Cloud Storage endpoint (default: the remote's `endpointurl`, `$STORAGE_EMULATOR_HOST`,
   * else Google's) and a service-account key file (default: the remote's `credentialpath`, else Application Default
   * Credentials).
   */
  gcs: z.strictObject({ endpoint: z.string().url().optional(), keyFilename: z.string().min(1).optional() }).optional(),
  /**
   * An `azure://` DVC remote: the blob service root used instead of the account's (`blobEndpoint`, e.g. Azurite's)
   * and a token credential used when neither the remote nor the environment gives a key, SAS or connection string
   * (default `DefaultAzureCredential`).
   */
  azure: z
    .strictObject({
      blobEndpoint: z.string().url().optional(),
      credential: azureOptionsShape.credential,
    })
    .optional(),
  /** Default polling interval (ms) for `watch` (default 60 000): each poll is one `git ls-remote`. */
  watchIntervalMs: z.number().int().min(1).max(86_400_000).optional(),
  ...remoteOptionsShape,
});

/** Options accepted by {@link createDvcRegistry}. */
export type DvcRegistryOptions = z.input<typeof dvcRegistryOptionsSchema>;
/** Parsed options. */
export type ParsedDvcRegistryOptions = z.output<typeof dvcRegistryOptionsSchema>;

/** Validates options once at the boundary; throws INVALID_OPTIONS describing every problem. */
export function parseDvcRegistryOptions(options: unknown): ParsedDvcRegistryOptions {
  return parseOptions(
    dvcRegistryOptionsSchema,
    options ?? {},
    'DVC registry',
    "Pass { repo: 'git@github.com:acme/models.git' } (or a local path).",
  );
}

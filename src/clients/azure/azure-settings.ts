import { z } from 'zod';

/** An `@azure/identity`-style credential: anything with `getToken(scopes)` (DefaultAzureCredential, a managed identity…). */
export interface AzureTokenCredential {
  /** A bearer token for `scopes` (e.g. `https://management.azure.com/.default`), or null when none can be had. */
  getToken(
    scopes: string | string[],
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

/** Connection settings shared by everything that talks to Azure (the Azure ML registry, blob storage, endpoints). */
export const azureOptionsShape = {
  /** Subscription id (default `$AZURE_SUBSCRIPTION_ID`). */
  subscriptionId: z.string().min(1).optional(),
  /** Resource group of the workspace or registry (default `$AZURE_RESOURCE_GROUP`). */
  resourceGroup: z.string().min(1).max(90).optional(),
  /** Azure Resource Manager root (default `https://management.azure.com`; sovereign clouds or a test server). */
  armEndpoint: z.string().url().optional(),
  /** A token credential; default `DefaultAzureCredential` from `@azure/identity` (env, workload/managed identity, CLI). */
  credential: z
    .custom<AzureTokenCredential>(
      (v) => typeof v === 'object' && v !== null && typeof (v as AzureTokenCredential).getToken === 'function',
      'credential must be a TokenCredential (an object with getToken)',
    )
    .optional(),
  /**
   * Blob service root used instead of `https://<account>.blob.<suffix>` for every storage account (Azurite:
   * `http://127.0.0.1:10000/devstoreaccount1`, a private endpoint).
   */
  blobEndpoint: z.string().url().optional(),
};

/** The parsed Azure settings. */
export type AzureOptions = z.output<z.ZodObject<typeof azureOptionsShape>>;

/** The ARM root without a trailing slash. */
export const armRoot = (options: AzureOptions): string =>
  (options.armEndpoint ?? 'https://management.azure.com').replace(/\/+$/, '');

/** Subscription and resource group from options or the environment. */
export function scopeFromEnv(options: AzureOptions): { subscriptionId?: string; resourceGroup?: string } {
  const subscriptionId = options.subscriptionId ?? process.env.AZURE_SUBSCRIPTION_ID;
  const resourceGroup = options.resourceGroup ?? process.env.AZURE_RESOURCE_GROUP;
  return {
    ...(subscriptionId ? { subscriptionId } : {}),
    ...(resourceGroup ? { resourceGroup } : {}),
  };
}

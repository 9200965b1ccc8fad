import { z } from 'zod';

/** A service-account key file's content (the JSON the IAM console downloads), or any ADC JSON. */
const credentialsJson = z.looseObject({ type: z.string().min(1) });

/** Connection settings shared by everything that talks to Google Cloud (Vertex AI registry, endpoints, gs://). */
export const gcpOptionsShape = {
  /** Project id (default `$GOOGLE_CLOUD_PROJECT`, `$GCLOUD_PROJECT`, else the credentials' project). */
  project: z.string().min(1).optional(),
  /** Vertex AI region (default `$GOOGLE_CLOUD_LOCATION`, `$CLOUD_ML_REGION`, else `us-central1`). */
  location: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'location is a region such as us-central1')
    .optional(),
  /** Vertex AI API root (default `https://<location>-aiplatform.googleapis.com`): a private endpoint or a test server. */
  apiEndpoint: z.string().url().optional(),
  /** Cloud Storage JSON API root (default `https://storage.googleapis.com`). */
  storageEndpoint: z.string().url().optional(),
  /** Credentials JSON (a service-account key); default: Application Default Credentials. */
  credentials: credentialsJson.optional(),
  /** Path of a credentials JSON file; default `$GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's ADC, then the metadata server. */
  keyFilename: z.string().min(1).optional(),
  /** A ready OAuth access token (or a function giving one), instead of ADC. */
  accessToken: z
    .union([
      z.string().min(1),
      z.custom<() => Promise<string>>((v) => typeof v === 'function', 'accessToken must be a string or function'),
    ])
    .optional(),
};

/** The parsed Google Cloud settings. */
export type GcpOptions = z.output<z.ZodObject<typeof gcpOptionsShape>>;

/** Project from options or the environment, if any (ADC may still know it from the credentials). */
export function projectFromEnv(options: GcpOptions): string | undefined {
  return options.project ?? process.env.GOOGLE_CLOUD_PROJECT ?? process.env.GCLOUD_PROJECT ?? undefined;
}

/** Region from options or the environment, else `us-central1`. */
export function locationFromEnv(options: GcpOptions): string {
  return options.location ?? process.env.GOOGLE_CLOUD_LOCATION ?? process.env.CLOUD_ML_REGION ?? 'us-central1';
}

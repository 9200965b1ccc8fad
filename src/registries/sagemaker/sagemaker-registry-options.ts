import { z } from 'zod';
import { parseOptions } from '../../core/options.js';
import { remoteOptionsShape } from '../kit/remote-options.js';

const credentials = z.object({
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  sessionToken: z.string().optional(),
});

/** Options for {@link createSageMakerRegistry}. Region and credentials default to the standard AWS chain. */
export const sageMakerRegistryOptionsSchema = z.strictObject({
  /** AWS region (default `$AWS_REGION`, `$AWS_DEFAULT_REGION`, else `us-east-1`). */
  region: z.string().min(1).optional(),
  /** Explicit credentials; omit to use the AWS credential chain (env, profile, SSO, instance role…). */
  credentials: credentials.optional(),
  /** A custom SageMaker API endpoint (a VPC endpoint, or a test server). */
  endpoint: z.string().url().optional(),
  /** Bucket that `publish` uploads `model.tar.gz` to (`s3://bucket/prefix/<group>/<id>/model.tar.gz`). */
  bucket: z.string().min(3).optional(),
  /** Key prefix for `publish` uploads (default `modelship`). */
  prefix: z.string().optional(),
  /** Inference image recorded in the package's container (SageMaker requires one), e.g. an ONNX Runtime/Triton image URI. */
  image: z.string().min(1).optional(),
  /** Approval status `publish` gives new packages (default `PendingManualApproval`, as SageMaker). */
  approvalStatus: z.enum(['Approved', 'Rejected', 'PendingManualApproval']).optional(),
  /** The file to load from the archive when it holds several `.onnx` files. */
  file: z.string().min(1).optional(),
  /** Largest total content of a `model.tar.gz` (default 8 GiB). */
  maxArchiveBytes: z.number().int().positive().optional(),
  /** Most entries a `model.tar.gz` may have (default 10 000). */
  maxArchiveEntries: z.number().int().positive().optional(),
  /** Largest ratio of a `model.tar.gz`'s declared content to its compressed size, past 64 MiB of content (default 200). */
  maxArchiveRatio: z.number().positive().optional(),
  /** Default polling interval (ms) for `watch` (default 60 000), spread by ±10 % jitter. */
  watchIntervalMs: z.number().int().min(1).max(86_400_000).optional(),
  ...remoteOptionsShape,
});

/** Options accepted by {@link createSageMakerRegistry}. */
export type SageMakerRegistryOptions = z.input<typeof sageMakerRegistryOptionsSchema>;

/** Validates options once at the boundary; throws INVALID_OPTIONS describing every problem. */
export function parseSageMakerRegistryOptions(options: unknown): z.output<typeof sageMakerRegistryOptionsSchema> {
  return parseOptions(
    sageMakerRegistryOptionsSchema,
    options ?? {},
    'SageMaker registry',
    "Pass { region: 'eu-west-1' } (credentials come from the AWS chain).",
  );
}

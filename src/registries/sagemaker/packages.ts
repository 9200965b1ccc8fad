import type { DescribeModelPackageCommandOutput } from '@aws-sdk/client-sagemaker';
import { redactUrl } from '../../core/redact.js';
import type { ModelVersionInfo } from '../../spec/registry.js';

/** Customer metadata keys modelship writes (SageMaker records no digest of the model inside the archive). */
export const META_SHA256 = 'modelship:sha256';
/** Model package metadata key for the file size in bytes. */
export const META_SIZE = 'modelship:size';
/** `modelship:alias:<alias>` marks the package an alias points at. */
export const META_ALIAS = 'modelship:alias:';
/** User metadata: `modelship:meta:<key>` = JSON value. */
export const META_USER = 'modelship:meta:';

/** Where a package's model lives and how it is packed. */
export interface PackageArtifact {
  readonly uri: string;
  readonly compressed: boolean;
  /** `S3Prefix`: `uri` is a folder of uncompressed files. */
  readonly prefix: boolean;
}

/** The artifact of a package: `ModelDataUrl` (a `model.tar.gz`) or `ModelDataSource.S3DataSource`. */
export function packageArtifact(p: DescribeModelPackageCommandOutput): PackageArtifact | undefined {
  const c = p.InferenceSpecification?.Containers?.[0];
  if (c?.ModelDataUrl)
    return {
      uri: c.ModelDataUrl,
      compressed: /\.tar\.gz$|\.tgz$/i.test(c.ModelDataUrl) || !/\.onnx$/i.test(c.ModelDataUrl),
      prefix: false,
    };
  const s = c?.ModelDataSource?.S3DataSource;
  if (s?.S3Uri) return { uri: s.S3Uri, compressed: s.CompressionType === 'Gzip', prefix: s.S3DataType === 'S3Prefix' };
  return undefined;
}

/** A described package as modelship reports it: version = `ModelPackageVersion`, aliases from customer metadata. */
export function toInfo(p: DescribeModelPackageCommandOutput): ModelVersionInfo {
  const props = p.CustomerMetadataProperties ?? {};
  const user: Record<string, unknown> = {};
  const aliases: string[] = [];
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith(META_ALIAS)) aliases.push(k.slice(META_ALIAS.length));
    else if (k.startsWith(META_USER)) {
      try {
        user[k.slice(META_USER.length)] = JSON.parse(v);
      } catch {
        user[k.slice(META_USER.length)] = v;
      }
    } else if (!k.startsWith('modelship:')) user[k] = v;
  }
  const sha256 = props[META_SHA256];
  const size = props[META_SIZE];
  const artifact = packageArtifact(p);
  return {
    name: p.ModelPackageGroupName ?? '',
    version: String(p.ModelPackageVersion ?? ''),
    ...(sha256 !== undefined && /^[0-9a-f]{64}$/.test(sha256) ? { sha256 } : {}),
    ...(size !== undefined && /^\d+$/.test(size) ? { size: Number(size) } : {}),
    aliases: aliases.sort(),
    ...(p.CreationTime === undefined ? {} : { createdAt: new Date(p.CreationTime).toISOString() }),
    metadata: {
      ...user,
      sagemaker: {
        arn: p.ModelPackageArn,
        approvalStatus: p.ModelApprovalStatus,
        status: p.ModelPackageStatus,
        ...(p.ModelPackageDescription ? { description: p.ModelPackageDescription } : {}),
        ...(artifact === undefined
          ? {}
          : { artifact: redactUrl(artifact.uri) === '<invalid URL>' ? artifact.uri : redactUrl(artifact.uri) }),
      },
    },
  };
}

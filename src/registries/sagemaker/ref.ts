import { ModelshipError } from '../../errors/index.js';

/** A parsed SageMaker Model Registry reference. */
export type SageMakerRef =
  | { readonly group: string; readonly kind: 'approved' }
  | { readonly group: string; readonly kind: 'version'; readonly version: number }
  | { readonly group: string; readonly kind: 'alias'; readonly alias: string };

const GROUP = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/([a-zA-Z0-9-]{1,63})\/(\d{1,9})$/;

/**
 * Parses `sagemaker:<group>` (the newest Approved package; also `<group>/latest`), `sagemaker:<group>/<version>`,
 * `sagemaker:<group>@<alias>` (modelship aliases, kept in the packages' customer metadata), a versioned model package
 * ARN, and the same forms without `sagemaker:`.
 */
export function parseSageMakerRef(ref: string): SageMakerRef {
  const bad = (why: string): ModelshipError =>
    new ModelshipError(
      'INVALID_REF',
      `Invalid SageMaker model reference ${JSON.stringify(ref)}: ${why}. Use sagemaker:<ModelPackageGroupName>, sagemaker:<group>/<version>, sagemaker:<group>@<alias> or a model package ARN.`,
    );
  if (typeof ref !== 'string' || ref.trim() === '') throw bad('empty');
  const body = ref.startsWith('sagemaker:') ? ref.slice('sagemaker:'.length) : ref;
  const arn = ARN.exec(body);
  if (arn) return { group: arn[1] as string, kind: 'version', version: Number(arn[2]) };
  const at = body.indexOf('@');
  if (at >= 0) {
    const group = body.slice(0, at);
    const alias = body.slice(at + 1);
    if (!GROUP.test(group)) throw bad('bad model package group name');
    if (!/^[\w-]{1,64}$/.test(alias)) throw bad('an alias has only letters, digits, "_" and "-"');
    return alias === 'latest' || alias === 'approved' ? { group, kind: 'approved' } : { group, kind: 'alias', alias };
  }
  const [group = '', selector, ...rest] = body.split('/');
  if (rest.length > 0 || !GROUP.test(group)) throw bad('bad model package group name');
  if (selector === undefined || selector === 'latest') return { group, kind: 'approved' };
  if (!/^[1-9]\d{0,8}$/.test(selector)) throw bad(`${JSON.stringify(selector)} is not a version number`);
  return { group, kind: 'version', version: Number(selector) };
}

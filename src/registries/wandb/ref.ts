import { ModelshipError } from '../../errors/index.js';

/** A parsed W&B artifact reference. `selector` is an alias (`production`, `latest`) or a version (`v3`). */
export interface WandbRef {
  readonly entity: string;
  readonly project: string;
  /** The artifact collection (or registry collection) name. */
  readonly name: string;
  readonly selector:
    { readonly kind: 'version'; readonly index: number } | { readonly kind: 'alias'; readonly alias: string };
}

const SEGMENT = /^[\w.-]+$/;

/**
 * Parses `wandb:entity/project/name:alias`, `…:v3`, `…/name` (the `latest` alias), and the same without `wandb:`
 * or without the entity (then `defaults.entity`). Registry collections are the project `wandb-registry-<registry>`:
 * `wandb:entity/wandb-registry-model/mnist:production`.
 */
export function parseWandbRef(
  ref: string,
  defaults: { entity?: string | undefined; project?: string | undefined } = {},
): WandbRef {
  const bad = (why: string): ModelshipError =>
    new ModelshipError(
      'INVALID_REF',
      `Invalid W&B artifact reference ${JSON.stringify(ref)}: ${why}. Use wandb:entity/project/name:alias or wandb:entity/project/name:v3.`,
    );
  if (typeof ref !== 'string' || ref.trim() === '') throw bad('empty');
  const body = ref.startsWith('wandb:') ? ref.slice('wandb:'.length).replace(/^\/+/, '') : ref;
  const colon = body.lastIndexOf(':');
  const path = colon >= 0 ? body.slice(0, colon) : body;
  const sel = colon >= 0 ? body.slice(colon + 1) : 'latest';
  const parts = path.split('/');
  let entity: string | undefined;
  let project: string | undefined;
  let name: string | undefined;
  if (parts.length === 3) [entity, project, name] = parts;
  else if (parts.length === 2) [entity, project, name] = [defaults.entity, parts[0], parts[1]];
  else if (parts.length === 1) [entity, project, name] = [defaults.entity, defaults.project, parts[0]];
  else throw bad('too many "/"');
  if (entity === undefined || entity === '') throw bad('no entity (pass { entity } or set WANDB_ENTITY)');
  if (project === undefined || project === '') throw bad('no project (pass { project } or set WANDB_PROJECT)');
  for (const s of [entity, project, name ?? ''])
    if (!SEGMENT.test(s)) throw bad(`${JSON.stringify(s)} has characters W&B names do not allow`);
  if (!/^[\w.-]+$/.test(sel)) throw bad(`${JSON.stringify(sel)} is not an alias or version`);
  const version = /^v(\d{1,9})$/.exec(sel);
  return {
    entity,
    project,
    name: name as string,
    selector: version ? { kind: 'version', index: Number(version[1]) } : { kind: 'alias', alias: sel },
  };
}

/** The `name:selector` string W&B's `artifact(name:)` takes. */
export function artifactName(ref: WandbRef): string {
  return `${ref.name}:${ref.selector.kind === 'version' ? `v${ref.selector.index}` : ref.selector.alias}`;
}

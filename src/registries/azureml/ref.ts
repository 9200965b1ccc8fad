import { ModelshipError } from '../../errors/index.js';

/** A parsed Azure ML model reference. */
export type AzureMlRef =
  | {
      readonly kind: 'version' | 'alias' | 'latest';
      readonly name: string;
      /** The version (kind `version`) or alias (kind `alias`). */
      readonly selector?: string;
      /** An Azure ML registry named by the reference (`azureml://registries/<r>/…`); else the adapter's scope. */
      readonly registry?: string;
    }
  | {
      /** A file in a workspace datastore (`azureml://subscriptions/…/datastores/<d>/paths/<p>`). */
      readonly kind: 'datastore';
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly workspace: string;
      readonly datastore: string;
      readonly path: string;
      readonly name: string;
    };

/** Azure ML asset names (`^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,254}$`) and versions. */
export const ASSET_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;
const VERSION = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** Aliases live in model tags (`modelship.alias.<alias>`), so they keep to a tag-safe subset. */
export const ALIAS = /^[a-zA-Z][a-zA-Z0-9_-]{0,62}$/;
const REGISTRY_URI =
  /^azureml:\/\/registries\/([a-zA-Z0-9][a-zA-Z0-9_-]{2,32})\/models\/([^/]+)\/(versions|labels)\/([^/]+)$/;
const DATASTORE_URI =
  /^azureml:\/\/subscriptions\/([^/]+)\/resource[gG]roups\/([^/]+)\/(?:providers\/Microsoft\.MachineLearningServices\/)?workspaces\/([^/]+)\/datastores\/([^/]+)\/paths\/(.+)$/;

/**
 * Parses `azureml:<name>:<version>`, `azureml:<name>@<alias>`, `azureml:<name>@latest` and `azureml:<name>` (the
 * newest version, as Azure ML reads `@latest`), `azureml://registries/<r>/models/<m>/versions/<v>` (or
 * `/labels/<alias|latest>`), and `azureml://subscriptions/<s>/resourcegroups/<g>/workspaces/<w>/datastores/<d>/paths/<p>`.
 */
export function parseAzureMlRef(ref: string): AzureMlRef {
  const bad = (why: string): ModelshipError =>
    new ModelshipError(
      'INVALID_REF',
      `Invalid Azure ML model reference ${JSON.stringify(String(ref).slice(0, 200))}: ${why}. Use azureml:<name>:<version>, azureml:<name>@<alias>, azureml:<name>@latest, azureml://registries/<r>/models/<m>/versions/<v> or an azureml://subscriptions/…/datastores/<d>/paths/<file> URI.`,
    );
  if (typeof ref !== 'string' || ref.trim() === '') throw bad('empty');
  if (ref.length > 2048) throw bad('too long');
  if (ref.startsWith('azureml://')) {
    const reg = REGISTRY_URI.exec(ref);
    if (reg) {
      const [, registry, name, what, sel] = reg as unknown as [string, string, string, string, string];
      if (!ASSET_NAME.test(name)) throw bad('a model name has letters, digits, "-", "_" and "."');
      if (what === 'versions') {
        if (!VERSION.test(sel)) throw bad('bad version');
        return { kind: 'version', name, selector: sel, registry };
      }
      if (sel === 'latest') return { kind: 'latest', name, registry };
      if (!ALIAS.test(sel)) throw bad('bad alias');
      return { kind: 'alias', name, selector: sel, registry };
    }
    const ds = DATASTORE_URI.exec(ref);
    if (ds) {
      const [, subscriptionId, resourceGroup, workspace, datastore, path] = ds as unknown as string[] as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const segments = path.split('/');
      if (segments.some((s) => s === '' || s === '.' || s === '..')) throw bad('the path has empty or dot segments');
      return {
        kind: 'datastore',
        subscriptionId,
        resourceGroup,
        workspace,
        datastore,
        path,
        name: segments[segments.length - 1] as string,
      };
    }
    throw bad('unknown azureml:// form');
  }
  const body = ref.startsWith('azureml:') ? ref.slice('azureml:'.length) : ref;
  const at = body.indexOf('@');
  const colon = body.indexOf(':');
  if (at >= 0 && colon >= 0) throw bad('give either :<version> or @<alias>, not both');
  const cut = at >= 0 ? at : colon;
  const name = cut < 0 ? body : body.slice(0, cut);
  if (!ASSET_NAME.test(name)) throw bad('a model name has letters, digits, "-", "_" and "."');
  if (cut < 0) return { kind: 'latest', name };
  const sel = body.slice(cut + 1);
  if (colon >= 0) {
    if (!VERSION.test(sel)) throw bad(`${JSON.stringify(sel)} is not a version`);
    return { kind: 'version', name, selector: sel };
  }
  if (sel === 'latest') return { kind: 'latest', name };
  if (!ALIAS.test(sel)) throw bad(`${JSON.stringify(sel)} is not an alias ([a-zA-Z][a-zA-Z0-9_-]*)`);
  return { kind: 'alias', name, selector: sel };
}

import { ModelshipError, toModelshipError } from '../errors/index.js';
import { assertVersionLabel } from '../core/version-label.js';
import type { Logger } from '../serving/logger.js';
import type { ServableModel } from '../serving/servable.js';
import type { RegistryAdapter } from '../spec/registry.js';
import { describeRemote, type RemoteEndpoint } from '../backends/remote/remote-options.js';
import type { ParsedDeploymentOptions, VersionRef } from './deployment-options.js';
import { signatureIncompatibilities } from './policy/index.js';
import { validateCandidate } from './validate.js';
import { VersionSlot } from './version-slot.js';

/** Loads one version for a deployment: `loadModel` bound to a runtime, or your own. */
export type VersionLoader = (ref: string, options: Record<string, unknown>) => Promise<ServableModel>;

/** Loads a `{ remote: { protocol, … } }` version: the runtime's remote backends (KServe v2, SageMaker…). */
export type RemoteVersionLoader = (remote: RemoteEndpoint) => Promise<ServableModel>;

/** How a deployment loads its versions: given by the runtime that creates it. */
export interface DeploymentLoaders {
  /** Registry references and paths. */
  readonly load: VersionLoader;
  /** Remote endpoints. */
  readonly loadRemote: RemoteVersionLoader;
}

/** What loading a version needs besides the reference. */
export interface LoadContext {
  readonly name: string;
  readonly loaders: DeploymentLoaders;
  readonly modelOptions: Record<string, unknown> | undefined;
  readonly registry: RegistryAdapter | undefined;
  readonly logger: Logger;
  readonly windowMs: number;
  readonly now: () => number;
}

let loads = 0;

/** How a version reference is shown in status, errors and evidence. */
export function refText(ref: VersionRef): string {
  return typeof ref === 'string' ? ref : describeRemote(ref.remote);
}

/** Loads `ref`, checks its version label and waits until it is ready; the model is closed again if that fails. */
export async function loadVersion(ref: VersionRef, ctx: LoadContext): Promise<VersionSlot> {
  const model =
    typeof ref === 'string'
      ? await ctx.loaders.load(ref, {
          ...ctx.modelOptions,
          ...(ctx.registry ? { registry: ctx.registry } : {}),
          logger: ctx.logger,
        })
      : await ctx.loaders.loadRemote(ref.remote as RemoteEndpoint);
  try {
    // Every answer carries the label in a header: one that cannot be written would fail after the version answered.
    assertVersionLabel(model.version, `Version ${refText(ref)} of deployment ${ctx.name}`, 'MODEL_LOAD_FAILED');
    await model.ready();
  } catch (error) {
    await model.close().catch(() => undefined);
    throw error;
  }
  const text = refText(ref);
  return new VersionSlot(model, text, ctx.windowMs, ctx.now, `${text}#${++loads}`);
}

/** INCOMPATIBLE_SIGNATURE unless `model` takes every input and gives every output `current` does. */
export function requireCompatible(current: VersionSlot, model: ServableModel, name: string): void {
  const problems = signatureIncompatibilities(current.model.signature, model.signature);
  if (problems.length > 0) {
    throw new ModelshipError(
      'INCOMPATIBLE_SIGNATURE',
      `Version ${model.version} cannot replace ${current.version} in deployment ${name}: ${problems.join('; ')}. Publish a version with the same inputs and outputs, or create a new deployment.`,
      { details: { problems } },
    );
  }
}

/**
 * Loads the versions a deployment starts with: stable, then the canary and the shadow, each of which must be
 * able to answer stable's callers. On a failure every version loaded so far is closed again.
 */
export async function loadVersions(
  opts: ParsedDeploymentOptions,
  ctx: LoadContext,
): Promise<{ stable: VersionSlot; canary?: VersionSlot; shadow?: VersionSlot }> {
  const loaded: ServableModel[] = [];
  try {
    const stable = await loadVersion(opts.stable, ctx);
    loaded.push(stable.model);
    let canary: VersionSlot | undefined;
    if (opts.canary) {
      canary = await loadVersion(opts.canary.ref, ctx);
      loaded.push(canary.model);
      requireCompatible(stable, canary.model, ctx.name);
    }
    let shadow: VersionSlot | undefined;
    if (opts.shadow) {
      shadow = await loadVersion(opts.shadow.ref, ctx);
      loaded.push(shadow.model);
      requireCompatible(stable, shadow.model, ctx.name);
    }
    return { stable, ...(canary ? { canary } : {}), ...(shadow ? { shadow } : {}) };
  } catch (error) {
    await Promise.all(loaded.map((m) => m.close().catch(() => undefined)));
    throw error;
  }
}

/** What became of a candidate: the version to switch to, nothing (it is the version already serving), or a refusal. */
export type CandidateOutcome =
  | { readonly slot?: VersionSlot; readonly refused?: undefined }
  | { readonly refused: ModelshipError; readonly version?: string };

/**
 * Loads a candidate for a blue-green switch and puts it through its checks against what serves (`current`, read
 * again after each wait): signature, then `validate`; `assertOpen` throws when the deployment closed meanwhile.
 * A refused candidate is closed again; its error says why (MODEL_LOAD_FAILED when it was not a ModelshipError).
 */
export async function loadCandidate(
  ref: string,
  ctx: LoadContext,
  current: () => VersionSlot,
  validate: ParsedDeploymentOptions['validate'],
  assertOpen: () => void,
): Promise<CandidateOutcome> {
  let candidate: VersionSlot | undefined;
  try {
    candidate = await loadVersion(ref, ctx);
    if (candidate.model.name === current().model.name && candidate.version === current().version) {
      await candidate.model.close();
      return {};
    }
    requireCompatible(current(), candidate.model, ctx.name);
    if (validate) await validateCandidate(candidate.model, current().model, validate);
    assertOpen();
    return { slot: candidate };
  } catch (error) {
    await candidate?.model.close().catch(() => undefined);
    return {
      refused: toModelshipError(error, 'MODEL_LOAD_FAILED'),
      ...(candidate ? { version: candidate.version } : {}),
    };
  }
}

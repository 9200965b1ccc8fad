import { ModelshipError, toModelshipError } from '../../errors/index.js';
import { hasErrnoCode } from '../../platform/node/fs-atomic.js';
import { formatList, throwIfAborted } from '../errors.js';
import type { LocalLayout } from './layout.js';

/**
 * Runs one registry operation: fails fast when `signal` has already fired, and turns any filesystem failure into a
 * typed error whose message names `action` and what to do next. Modelship errors pass through unchanged.
 */
export type Guard = <T>(action: string, signal: AbortSignal | undefined, task: () => Promise<T>) => Promise<T>;

/** A {@link Guard} whose messages point at the registry directory `root`. */
export function createGuard(root: string): Guard {
  function fsFailure(error: unknown, action: string): ModelshipError {
    if (ModelshipError.isInstance(error)) return error;
    if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
      return toModelshipError(error);
    }
    const message = error instanceof Error ? error.message : String(error);
    if (hasErrnoCode(error, 'EACCES', 'EPERM', 'EROFS')) {
      return new ModelshipError(
        'INTERNAL',
        `Permission denied while ${action} (${message}). Check that this process can read and write ${root}.`,
        { cause: error },
      );
    }
    if (hasErrnoCode(error, 'ENOSPC', 'EDQUOT')) {
      return new ModelshipError(
        'INTERNAL',
        `Out of disk space while ${action} (${message}). Free space on the volume holding ${root}.`,
        { cause: error },
      );
    }
    return new ModelshipError(
      'REGISTRY_UNAVAILABLE',
      `Filesystem error while ${action}: ${message}. Retry; if it persists, check ${root}.`,
      { cause: error },
    );
  }

  return async (action, signal, task) => {
    throwIfAborted(signal);
    try {
      return await task();
    } catch (error) {
      throw fsFailure(error, action);
    }
  };
}

/** MODEL_NOT_FOUND, listing the models that do exist (or how to publish the first one). */
export async function modelNotFound(layout: LocalLayout, name: string): Promise<ModelshipError> {
  const models = await layout.listModelNames().catch(() => []);
  const hint =
    models.length === 0
      ? `The local registry at ${layout.root} is empty; publish a model first, e.g. registry.publish({ name: ${JSON.stringify(name)}, file: './model.onnx' }).`
      : `Models in ${layout.root}: ${formatList(models, 5)}.`;
  return new ModelshipError('MODEL_NOT_FOUND', `Model ${JSON.stringify(name)} not found. ${hint}`, {
    details: { name, available: models.slice(0, 5) },
  });
}

/** VERSION_NOT_FOUND listing recent versions; MODEL_NOT_FOUND when the model has none. `why` is appended as given. */
export async function versionNotFound(
  layout: LocalLayout,
  name: string,
  version: string,
  why = '',
): Promise<ModelshipError> {
  const versions = await layout.visibleVersions(name);
  if (versions.length === 0) return modelNotFound(layout, name);
  const recent = versions.slice(-10);
  return new ModelshipError(
    'VERSION_NOT_FOUND',
    `Model ${JSON.stringify(name)} has no version ${version}${why}. Available versions: ${versions.length > 10 ? '…, ' : ''}${recent.join(', ')}; use ${JSON.stringify(name)} for the latest.`,
    { details: { name, version, available: recent } },
  );
}

/** Throws MODEL_NOT_FOUND unless the model has at least one visible version. */
export async function requireModel(layout: LocalLayout, name: string): Promise<void> {
  if (!(await layout.hasVisibleVersion(name))) throw await modelNotFound(layout, name);
}

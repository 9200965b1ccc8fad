import type * as GoogleCloudStorage from '@google-cloud/storage';
import { ModelshipError } from '../../errors/index.js';

/** The `@google-cloud/storage` module. */
export type StorageModule = typeof GoogleCloudStorage;
let loaded: Promise<StorageModule> | undefined;

/** Loads `@google-cloud/storage` on first use; DEPENDENCY_MISSING with the install command when it is absent. */
export function loadStorage(): Promise<StorageModule> {
  loaded ??= (async () => {
    try {
      // A computed specifier keeps bundlers from resolving this Node-only optional peer.
      const specifier = '@google-cloud/storage';
      return (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as StorageModule;
    } catch (cause) {
      loaded = undefined;
      throw new ModelshipError(
        'DEPENDENCY_MISSING',
        'gs:// models need the optional peer dependencies @google-cloud/storage and google-auth-library: npm install @google-cloud/storage google-auth-library',
        { cause },
      );
    }
  })();
  return loaded;
}

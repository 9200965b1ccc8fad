import { metrics } from '@opentelemetry/api';

const METER = 'modelship';

/**
 * Counts a reference answered from the cache because its registry could not be reached
 * (`modelship.registry.offline_fallbacks`, attributes `registry.kind`, `model.name`). The meter is looked up at each
 * call, so an SDK registered after modelship was imported is still used; without one this is a no-op.
 */
export function recordOfflineFallback(registryKind: string, modelName: string): void {
  metrics
    .getMeter(METER)
    .createCounter('modelship.registry.offline_fallbacks', {
      description: 'Model references answered from the local cache because the registry could not be reached',
      unit: '{fallback}',
    })
    .add(1, { 'registry.kind': registryKind, 'model.name': modelName });
}

/** Counts bytes downloaded into the model cache (`modelship.download.bytes`, attribute `registry.kind`). */
export function recordDownload(registryKind: string, bytes: number): void {
  metrics
    .getMeter(METER)
    .createCounter('modelship.download.bytes', {
      description: 'Model bytes downloaded into the local cache',
      unit: 'By',
    })
    .add(bytes, { 'registry.kind': registryKind });
}

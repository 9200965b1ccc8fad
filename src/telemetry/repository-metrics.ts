import { metrics } from '@opentelemetry/api';

const METER = 'modelship';

/** What happened to a model in a repository: the `event` attribute of `modelship.repository.events`. */
export type RepositoryEventKind = 'load' | 'unload' | 'evict' | 'load_failed';

/**
 * Counts a repository's loads, unloads, evictions and failed loads (`modelship.repository.events`, attributes
 * `model.name`, `event`). Looked up at each call (they are rare), so an SDK registered later is still used.
 */
export function recordRepositoryEvent(modelName: string, event: RepositoryEventKind): void {
  metrics
    .getMeter(METER)
    .createCounter('modelship.repository.events', {
      description: 'Models loaded, unloaded, evicted (least recently used) or failing to load in a model repository',
      unit: '{event}',
    })
    .add(1, { 'model.name': modelName, event });
}

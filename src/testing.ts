/**
 * `modelship/testing`: the contract suites modelship's own adapters pass, for authors of a registry adapter or
 * a tracking client. They are vitest suites: call one from a `*.test.ts` file with a factory for your adapter
 * on a real backend. vitest is an optional peer dependency, needed only by this entry.
 *
 * @example
 * ```ts
 * // my-registry.test.ts
 * import { testRegistry } from 'modelship/testing';
 *
 * testRegistry('my-registry', async () => ({
 *   registry: createMyRegistry({ url: server.url }),
 *   seed: (name, bytes, aliases, metadata) => server.addVersion(name, bytes, aliases, metadata),
 *   moveAlias: (name, alias, version) => server.setAlias(name, alias, version),
 * }));
 * ```
 * @packageDocumentation
 */
export { testRegistry, type RegistryFixture } from './testing/registry-contract.js';
export { testTracker, type TrackerHarness, type StoredRunView } from './testing/tracker-contract.js';

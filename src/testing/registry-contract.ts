/**
 * The contract every registry adapter passes: resolve by version, alias and latest; list versions; fetch bytes that
 * match their digest; publish where supported; the not-found codes; watch where supported; and, for registries
 * behind a server, outage behaviour through the cache. Call `testRegistry()` from a test file with a fixture.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../errors/index.js';
import type { ModelArtifact, RegistryAdapter, RegistryWarning, ResolvedModel } from '../spec/registry.js';

/** What `testRegistry`'s setup gives for one test: the adapter on a real backend and ways to change that backend. */
export interface RegistryFixture {
  readonly registry: RegistryAdapter;
  /** Adds `bytes` as the next version of `name` (through `publish` or the backing store) and returns the version. */
  seed(
    name: string,
    bytes: Uint8Array,
    aliases?: readonly string[],
    metadata?: Record<string, unknown>,
  ): Promise<string>;
  /** Points `alias` at `version` (through `setAlias` or the backing store). */
  moveAlias(name: string, alias: string, version: string): Promise<void>;
  /** For registries behind a server: stop and restart it, and open a new adapter on the same cache. */
  readonly outage?: {
    /** Stops the server: the registry is unreachable until `start()`. */
    stop(): Promise<void>;
    /** Starts the server again on the same address. */
    start(): Promise<void>;
    /** A new adapter on the same cache, reporting served-from-cache answers to `onWarning`. */
    reopen(onWarning: (w: RegistryWarning) => void): RegistryAdapter;
  };
  /** Model names in this fixture must be unique per test file; refs are written as `ref(name, selector)`. */
  ref?(name: string, selector: string): string;
  /** How the registry spells the n-th version (1-based) when not `"n"`, e.g. W&B's `v0` for the first. */
  version?(n: number): string;
  /** Releases what setup started (servers, temporary directories); called after the suite. */
  close?(): Promise<void>;
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(ModelshipError.isInstance(error), `expected a ModelshipError, got ${String(error)}`).toBe(true);
    return (error as ModelshipError).code;
  }
  return 'resolved';
}

async function read(artifact: ModelArtifact): Promise<Uint8Array> {
  if (artifact.kind === 'bytes') return artifact.bytes;
  try {
    return new Uint8Array(await readFile(artifact.path));
  } finally {
    artifact.release?.();
  }
}

/** Registers the contract tests for one adapter. */
export function testRegistry(label: string, setup: () => Promise<RegistryFixture>): void {
  describe(`registry contract: ${label}`, () => {
    let f: RegistryFixture;
    let ref: (name: string, selector: string) => string;
    const v = (n: number): string => f.version?.(n) ?? String(n);
    const one = bytesOf('model one: the first version');
    const two = bytesOf('model two: a second, longer version of the model');

    beforeAll(async () => {
      f = await setup();
      ref = f.ref ?? ((name, selector) => (selector === '' ? name : `${name}${selector}`));
      await f.seed('contract', one, ['production'], { accuracy: 0.91 });
      await f.seed('contract', two, ['candidate']);
    });
    afterAll(async () => {
      await f?.close?.();
    });

    it('resolves by version, alias and latest', async () => {
      const byVersion = await f.registry.resolve(ref('contract', '/1'));
      expect(byVersion).toMatchObject({ name: 'contract', version: v(1), aliases: ['production'] });
      expect(byVersion.metadata).toMatchObject({ accuracy: 0.91 });
      const byAlias = await f.registry.resolve(ref('contract', '@candidate'));
      expect(byAlias).toMatchObject({ version: v(2), aliases: ['candidate'], ref: ref('contract', '@candidate') });
      expect((await f.registry.resolve(ref('contract', ''))).version).toBe(v(2));
      expect((await f.registry.resolve(ref('contract', '/latest'))).version).toBe(v(2));
    });

    it('lists versions in order, with their aliases', async () => {
      const versions = await f.registry.listVersions?.('contract');
      expect(versions?.map((v) => [v.version, v.aliases])).toEqual([
        [v(1), ['production']],
        [v(2), ['candidate']],
      ]);
    });

    it('fetches bytes that match the recorded digest', async () => {
      for (const [selector, bytes] of [
        ['/1', one],
        ['@candidate', two],
      ] as const) {
        const resolved: ResolvedModel = await f.registry.resolve(ref('contract', selector));
        const fetched = await read(await f.registry.fetch(resolved));
        expect(fetched).toEqual(bytes);
        if (resolved.sha256 !== undefined) expect(resolved.sha256).toBe(sha(fetched));
        if (resolved.size !== undefined) expect(resolved.size).toBe(fetched.byteLength);
      }
    });

    it('publishes where supported, and what it publishes resolves and fetches back', async () => {
      if (f.registry.publish === undefined) return;
      const bytes = bytesOf('published through the adapter');
      const published = await f.registry.publish({
        name: 'contract-pub',
        bytes,
        aliases: ['staging'],
        metadata: { owner: 'ci' },
      });
      expect(published).toMatchObject({
        name: 'contract-pub',
        version: v(1),
        sha256: sha(bytes),
        size: bytes.byteLength,
        aliases: ['staging'],
      });
      const resolved = await f.registry.resolve(ref('contract-pub', '@staging'));
      expect(resolved).toMatchObject({ version: v(1), sha256: sha(bytes) });
      expect(resolved.metadata).toMatchObject({ owner: 'ci' });
      expect(await read(await f.registry.fetch(resolved))).toEqual(bytes);
      const again = await f.registry.publish({ name: 'contract-pub', bytes: bytesOf('v2') });
      expect(again.version).toBe(v(2));
    });

    it('answers unknown models, versions and aliases with their codes', async () => {
      expect(await codeOf(f.registry.resolve(ref('contract-nope', '')))).toBe('MODEL_NOT_FOUND');
      expect(await codeOf(f.registry.resolve(ref('contract-nope', '@production')))).toBe('MODEL_NOT_FOUND');
      expect(await codeOf(f.registry.resolve(ref('contract', '/99')))).toBe('VERSION_NOT_FOUND');
      expect(await codeOf(f.registry.resolve(ref('contract', '@nope')))).toBe('ALIAS_NOT_FOUND');
      if (f.registry.listVersions)
        expect(await codeOf(f.registry.listVersions('contract-nope'))).toBe('MODEL_NOT_FOUND');
    });

    it('reports an alias that moves to another version', async () => {
      if (f.registry.watch === undefined) return;
      await f.seed('contract-watch', bytesOf('w1'), ['live']);
      const v2 = await f.seed('contract-watch', bytesOf('w2'));
      const seen = new Promise<ResolvedModel>((resolve) => {
        const stop = f.registry.watch?.(
          ref('contract-watch', '@live'),
          (next) => {
            stop?.();
            resolve(next);
          },
          { intervalMs: 10, since: { version: v(1) } },
        );
      });
      await f.moveAlias('contract-watch', 'live', v2);
      expect((await seen).version).toBe(v2);
    });

    it('keeps answering from the cache while the registry is down, and says so', async () => {
      if (f.outage === undefined) return;
      const live = await f.registry.resolve(ref('contract', '@production'));
      await read(await f.registry.fetch(live));
      await f.outage.stop();
      try {
        const warnings: RegistryWarning[] = [];
        const fresh = f.outage.reopen((w) => warnings.push(w));
        const cached = await fresh.resolve(ref('contract', '@production'));
        expect(cached).toMatchObject({ name: 'contract', version: live.version });
        expect(warnings.map((w) => w.code)).toEqual(['REGISTRY_OFFLINE']);
        expect(await read(await fresh.fetch(cached))).toEqual(one);
        let error: unknown;
        try {
          await fresh.resolve(ref('contract', '/2'));
        } catch (e) {
          error = e;
        }
        expect(ModelshipError.hasCode(error, 'REGISTRY_UNAVAILABLE') && error.retryable).toBe(true);
      } finally {
        await f.outage.start();
      }
    });
  });
}

/**
 * The sharedState capability of the SageMaker registry against the SageMaker test server: compare-and-set over
 * a model package group's tags under a lock group, documents chunked over several tags, hostile keys, a damaged
 * state, and no lock group left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSageMakerRegistry } from '../../src/registries/sagemaker/index.js';
import {
  SAGEMAKER_SHARED_STATE_TAGS,
  sagemakerSharedStateGroups,
} from '../../src/registries/sagemaker/shared-state.js';
import type { SharedStateStore } from '../../src/spec/shared-state.js';
import { rejection } from '../helpers/errors.js';
import { tempDir } from '../helpers/models.js';
import { createSageMakerState } from '../servers/sagemaker/handler.js';
import { startSageMakerServer, type SageMakerTestServer } from '../servers/sagemaker/server.js';
import { resourceTags } from '../servers/sagemaker/tags.js';

const HOSTILE_KEYS: unknown[] = ['', '../etc', '.hidden', 'a/b', 'a\\b', 'x'.repeat(129), 'a\u0000b', 42, null, '..'];

describe('the SageMaker registry sharedState', () => {
  let server: SageMakerTestServer;
  let store: SharedStateStore;

  beforeAll(async () => {
    server = await startSageMakerServer(createSageMakerState('AKIDFLEET'));
    store = createSageMakerRegistry({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDFLEET', secretAccessKey: 'secret' },
      cacheDir: await tempDir(),
      retries: 0,
    }).sharedState;
  });
  afterAll(() => server.stop());

  it('compares and sets: creates once, then writes only from the etag it read', async () => {
    expect(await store.read('cas')).toBeUndefined();
    const first = await store.write('cas', '{"n":1}', null);
    expect(first.written).toBe(true);
    expect(await store.write('cas', '{"n":"again"}', null)).toEqual({ written: false, reason: 'conflict' });
    const etag = (first as { etag: string }).etag;
    expect(await store.read('cas')).toEqual({ etag, document: '{"n":1}' });
    const second = await store.write('cas', '{"n":2}', etag);
    expect(second.written).toBe(true);
    expect(await store.write('cas', '{"n":"stale"}', etag)).toEqual({ written: false, reason: 'conflict' });
    expect((await store.read('cas'))?.document).toBe('{"n":2}');
  });

  it('lets exactly one of many writers racing from the same read win, and leaves no lock group', async () => {
    const base = await store.write('race', '0', null);
    const etag = (base as { etag: string }).etag;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.write('race', String(i + 1), etag)));
    expect(results.filter((r) => r.written)).toHaveLength(1);
    const winner = results.findIndex((r) => r.written);
    expect((await store.read('race'))?.document).toBe(String(winner + 1));
    expect(server.state.groups.has(sagemakerSharedStateGroups('race').lock)).toBe(false);
  });

  it('keeps a document of several kilobytes in 256-character tags, and a shorter one after it', async () => {
    const big = JSON.stringify({ versions: Array.from({ length: 90 }, (_, i) => ({ ref: `sagemaker:fraud/${i}` })) });
    expect(big.length).toBeGreaterThan(2000);
    const first = await store.write('big.deployment_1', big, null);
    const group = server.state.groups.get(sagemakerSharedStateGroups('big.deployment_1').state)!;
    const tags = resourceTags(server.state, group.ModelPackageGroupArn);
    expect(Number(tags.get(SAGEMAKER_SHARED_STATE_TAGS.chunks))).toBeGreaterThan(8);
    for (const value of tags.values()) expect(value.length).toBeLessThanOrEqual(256);
    expect((await store.read('big.deployment_1'))?.document).toBe(big);
    await store.write('big.deployment_1', '{"short":true}', (first as { etag: string }).etag);
    expect((await store.read('big.deployment_1'))?.document).toBe('{"short":true}');
  });

  it('refuses a document over the tags of one group, and keys that are not deployment names', async () => {
    expect((await rejection(store.write('huge', 'x'.repeat(20_000), null))).code).toBe('INVALID_ARGUMENT');
    for (const key of HOSTILE_KEYS) {
      expect((await rejection(store.write(key as string, '{}', null))).code).toBe('INVALID_ARGUMENT');
      expect((await rejection(store.read(key as string))).code).toBe('INVALID_ARGUMENT');
    }
    expect([...server.state.groups.keys()].some((g) => g.includes('lock'))).toBe(false);
  });

  it('reads damaged tags as FLEET_STATE_INVALID, and a write that knows nothing is stored replaces them', async () => {
    expect((await store.write('damaged', '{}', null)).written).toBe(true);
    const group = server.state.groups.get(sagemakerSharedStateGroups('damaged').state)!;
    resourceTags(server.state, group.ModelPackageGroupArn).set(SAGEMAKER_SHARED_STATE_TAGS.chunks, '9');
    const error = await rejection(store.read('damaged'));
    expect(error.code).toBe('FLEET_STATE_INVALID');
    expect(error.message).not.toMatch(/AKIDFLEET|secret/);
    expect((await store.write('damaged', '{"fixed":1}', null)).written).toBe(true);
    expect((await store.read('damaged'))?.document).toBe('{"fixed":1}');
  });

  it('is REGISTRY_UNAVAILABLE when SageMaker is gone, without credentials in the message', async () => {
    const gone = createSageMakerRegistry({
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDFLEET', secretAccessKey: 'secret' },
      cacheDir: await tempDir(),
      retries: 0,
    }).sharedState;
    const error = await rejection(gone.read('cas'));
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
    expect(error.message).not.toMatch(/AKIDFLEET|secret/);
  });
});

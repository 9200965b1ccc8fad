import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentWith, loadModel, silentLogger, type DeploymentEvents } from 'modelship';
import { ModelshipError } from '../../src/errors/index.js';
import { createTarGz, type TarEntry } from '../../src/platform/node/tar-create.js';
import {
  createSageMakerRegistry,
  parseSageMakerRef,
  type SageMakerRegistry,
} from '../../src/registries/sagemaker/index.js';
import { digits } from '../helpers/deployments.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { createSageMakerState } from '../servers/sagemaker/handler.js';
import { startSageMakerServer, type SageMakerTestServer } from '../servers/sagemaker/server.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const fast = { retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2 };
const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

async function errorOf(p: Promise<unknown>): Promise<ModelshipError> {
  try {
    await p;
  } catch (e) {
    expect(ModelshipError.isInstance(e), String(e)).toBe(true);
    return e as ModelshipError;
  }
  throw new Error('expected a failure');
}

describe('createSageMakerRegistry', () => {
  let server: SageMakerTestServer;
  let s3rver: S3rver;
  let s3: S3Client;
  let s3dir: string;
  let s3endpoint: string;
  let cacheDir: string;
  let registry: SageMakerRegistry;
  const open = (extra: Record<string, unknown> = {}): SageMakerRegistry =>
    createSageMakerRegistry({
      endpoint: server.url,
      region: 'us-east-1',
      credentials,
      s3: { endpoint: s3endpoint, forcePathStyle: true },
      bucket: 'models',
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/onnx:latest',
      cacheDir,
      ...fast,
      ...extra,
    });

  /** A package whose artifact is `entries` packed as model.tar.gz (or the raw `body`), added behind the API's back. */
  async function rawPackage(
    group: string,
    key: string,
    body: Uint8Array,
    source: 'url' | { CompressionType: string; S3DataType: string } = 'url',
  ): Promise<string> {
    await s3.send(new PutObjectCommand({ Bucket: 'models', Key: key, Body: body }));
    if (!server.state.groups.has(group))
      server.state.groups.set(group, {
        ModelPackageGroupName: group,
        ModelPackageGroupArn: `arn:aws:sagemaker:us-east-1:123456789012:model-package-group/${group}`,
        CreationTime: Date.now() / 1000,
      });
    const version = server.state.packages.filter((p) => p.ModelPackageGroupName === group).length + 1;
    const container =
      source === 'url'
        ? { Image: 'img', ModelDataUrl: `s3://models/${key}` }
        : { Image: 'img', ModelDataSource: { S3DataSource: { S3Uri: `s3://models/${key}`, ...source } } };
    server.state.packages.push({
      ModelPackageGroupName: group,
      ModelPackageVersion: version,
      ModelPackageArn: `arn:aws:sagemaker:us-east-1:123456789012:model-package/${group}/${version}`,
      CreationTime: Date.now() / 1000,
      ModelPackageStatus: 'Completed',
      ModelApprovalStatus: 'Approved',
      InferenceSpecification: { Containers: [container] },
      CustomerMetadataProperties: {},
    });
    return `sagemaker:${group}/${version}`;
  }

  beforeAll(async () => {
    server = await startSageMakerServer(createSageMakerState(credentials.accessKeyId));
    s3dir = await tempDir();
    s3rver = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: s3dir,
      configureBuckets: [{ name: 'models', configs: [] }],
    });
    s3endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
    s3 = new S3Client({ region: 'us-east-1', endpoint: s3endpoint, forcePathStyle: true, credentials });
    cacheDir = join(await tempDir(), 'cache');
    registry = open();
  });
  afterAll(async () => {
    s3.destroy();
    await server.close();
    await s3rver.close();
    await rm(s3dir, { recursive: true, force: true });
  });

  it('parses group, version, alias and ARN references', () => {
    expect(parseSageMakerRef('sagemaker:fraud')).toEqual({ group: 'fraud', kind: 'approved' });
    expect(parseSageMakerRef('sagemaker:fraud/latest')).toEqual({ group: 'fraud', kind: 'approved' });
    expect(parseSageMakerRef('sagemaker:fraud/3')).toEqual({ group: 'fraud', kind: 'version', version: 3 });
    expect(parseSageMakerRef('sagemaker:fraud@champion')).toEqual({ group: 'fraud', kind: 'alias', alias: 'champion' });
    expect(parseSageMakerRef('arn:aws:sagemaker:eu-west-1:123456789012:model-package/fraud/7')).toEqual({
      group: 'fraud',
      kind: 'version',
      version: 7,
    });
    expect(() => parseSageMakerRef('sagemaker:bad_name')).toThrow(/group name/);
  });

  it('resolves the newest Approved package, pages ListModelPackages, and approve() moves it', async () => {
    await registry.publish({ name: 'paged', bytes: bytesOf('approved one'), approvalStatus: 'Approved' });
    await registry.publish({ name: 'paged', bytes: bytesOf('pending'), approvalStatus: 'PendingManualApproval' });
    // 119 more pending packages straight into the server's state: paging is under test, not 119 uploads.
    const template = server.state.packages.at(-1)!;
    for (let v = 3; v <= 121; v++)
      server.state.packages.push({
        ...template,
        ModelPackageVersion: v,
        ModelPackageArn: template.ModelPackageArn.replace(/\/2$/, `/${v}`),
        CreationTime: template.CreationTime + v,
        CustomerMetadataProperties: { ...template.CustomerMetadataProperties },
      });
    expect((await registry.resolve('sagemaker:paged')).version).toBe('1');
    expect((await registry.listVersions('paged')).length).toBe(121);
    expect(server.state.requests.filter((r) => r.target === 'ListModelPackages').length).toBeGreaterThan(2);
    const approved = await registry.approve('sagemaker:paged/121');
    expect(approved).toMatchObject({ version: '121', metadata: { sagemaker: { approvalStatus: 'Approved' } } });
    expect((await registry.resolve('sagemaker:paged')).version).toBe('121');
  });

  it('refuses hostile model.tar.gz archives, leaving nothing outside the cache', async () => {
    const onnx: TarEntry = { name: 'model.onnx', data: bytesOf('onnx') };
    const escape = join(cacheDir, '..', 'escaped.onnx');
    const whole = createTarGz([
      onnx,
      { name: 'weights.bin', data: new Uint8Array(32 * 1024).map((_, i) => (i * 31) % 251) },
    ]);
    const cases: [string, Uint8Array, string | undefined][] = [
      ['traversal', createTarGz([onnx, { name: '../../escaped.onnx', data: bytesOf('x') }]), '../../escaped.onnx'],
      ['absolute', createTarGz([{ name: escape, data: bytesOf('x') }]), escape],
      ['symlink', createTarGz([{ name: 'code', type: '2', linkname: '../../..' }, onnx]), 'code'],
      [
        'bomb',
        createTarGz(Array.from({ length: 10_001 }, (_, i) => ({ name: `l${i}`, type: '2', linkname: 'model.onnx' }))),
        'l10000',
      ],
      ['truncated', whole.subarray(0, whole.length >> 1), undefined],
    ];
    for (const [label, body, entry] of cases) {
      const ref = await rawPackage('hostile', `hostile/${label}/model.tar.gz`, body);
      const error = await errorOf(registry.fetch(await registry.resolve(ref)));
      expect(error.code, label).toBe('ARCHIVE_REJECTED');
      if (entry !== undefined) expect(error.details?.entry, label).toBe(entry);
    }
    await expect(readdir(join(cacheDir, '..'))).resolves.toEqual(['cache']);
    await expect(readdir(join(cacheDir, 'tmp'))).resolves.toEqual([]);
  });

  it('reads ModelDataSource.S3DataSource (gzip archive or plain object) and picks the .onnx file', async () => {
    const gz = await rawPackage(
      'sources',
      'sources/a/model.tar.gz',
      createTarGz([
        { name: 'code/inference.py', data: bytesOf('py') },
        { name: 'model/net.onnx', data: bytesOf('from gzip') },
      ]),
      { CompressionType: 'Gzip', S3DataType: 'S3Object' },
    );
    const plain = await rawPackage('sources', 'sources/b/net.onnx', bytesOf('plain object'), {
      CompressionType: 'None',
      S3DataType: 'S3Object',
    });
    for (const [ref, text] of [
      [gz, 'from gzip'],
      [plain, 'plain object'],
    ] as const) {
      const artifact = await registry.fetch(await registry.resolve(ref));
      const { readFile } = await import('node:fs/promises');
      expect(new TextDecoder().decode(await readFile(artifact.path))).toBe(text);
      artifact.release();
    }
    const two = await rawPackage(
      'sources',
      'sources/c/model.tar.gz',
      createTarGz([
        { name: 'a.onnx', data: bytesOf('a') },
        { name: 'b.onnx', data: bytesOf('b') },
      ]),
    );
    expect((await errorOf(registry.fetch(await registry.resolve(two)))).message).toMatch(/several \.onnx files/);
  });

  it('maps refused credentials to REGISTRY_AUTH_FAILED and a missing group to MODEL_NOT_FOUND', async () => {
    const wrong = open({ credentials: { accessKeyId: 'NOPE', secretAccessKey: 'x' } });
    expect((await errorOf(wrong.resolve('sagemaker:paged'))).code).toBe('REGISTRY_AUTH_FAILED');
    expect((await errorOf(registry.resolve('sagemaker:no-such-group'))).code).toBe('MODEL_NOT_FOUND');
    expect((await errorOf(registry.resolve('sagemaker:paged/999'))).code).toBe('VERSION_NOT_FOUND');
  });

  it('answers a missing group or package after one call: SageMaker\'s "does not exist" is final, not retried', async () => {
    const patient = open({ retries: 3 });
    const count = (target: string): number => server.state.requests.filter((r) => r.target === target).length;
    const groups = count('DescribeModelPackageGroup');
    expect((await errorOf(patient.resolve('sagemaker:never-made'))).code).toBe('MODEL_NOT_FOUND');
    expect(count('DescribeModelPackageGroup') - groups).toBe(1);
    await patient.publish({ name: 'onecall', bytes: bytesOf('one'), approvalStatus: 'Approved' });
    const resolved = await patient.resolve('sagemaker:onecall/1');
    // Deleted behind our back between resolve and fetch: DescribeModelPackage answers "does not exist".
    server.state.packages = server.state.packages.filter((p) => p.ModelPackageGroupName !== 'onecall');
    const packages = count('DescribeModelPackage');
    expect((await errorOf(patient.fetch(resolved))).code).toBe('VERSION_NOT_FOUND');
    expect(count('DescribeModelPackage') - packages).toBe(1);
  });

  it('hot-swaps a deployment when a newer package is approved', async () => {
    const { images, labels } = digits(20);
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, approvalStatus: 'Approved' });
    await registry.publish({ name: 'mnist', bytes: tinyMnist().onnx, approvalStatus: 'PendingManualApproval' });
    const d = await createDeploymentWith((ref) => loadModel(ref, { registry, workers: 1, logger: silentLogger }), {
      name: 'mnist',
      registry,
      stable: 'sagemaker:mnist',
      watch: { intervalMs: 10 },
      validate: { inputs: images, expect: labels, minAccuracy: 0.8 },
      logger: silentLogger,
    });
    try {
      expect(d.version).toBe('1');
      const switched = new Promise<DeploymentEvents['switch']>((resolve) => {
        const off = d.on('switch', (e) => {
          off();
          resolve(e);
        });
      });
      await registry.approve('sagemaker:mnist/2');
      expect(await switched).toMatchObject({ from: '1', to: '2', reason: 'watch' });
      expect((await d.predict([images[0]!])).version).toBe('2');
    } finally {
      await d.close();
    }
  });
});

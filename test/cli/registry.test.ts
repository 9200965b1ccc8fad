/**
 * `modelship registry` through the built bin: publish, versions, alias and ls on the local registry, and
 * versions/alias on MLflow (the test server) picked from the environment with `--registry mlflow`.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { MlflowTestServer } from '../servers/mlflow/server.js';
import { runCli } from './cli.js';

let dir: string;
let env: NodeJS.ProcessEnv;
let mlflow: MlflowTestServer;
const sha256 = createHash('sha256').update(tinyMnist().onnx).digest('hex');

beforeAll(async () => {
  dir = await tempDir('modelship-cli-registry-');
  await writeFile(join(dir, 'mnist.onnx'), tinyMnist().onnx);
  mlflow = new MlflowTestServer();
  await mlflow.start();
  env = { MODELSHIP_MODELS_DIR: join(dir, 'models'), MLFLOW_TRACKING_URI: mlflow.url };
});

afterAll(() => mlflow.stop());

describe('modelship registry (local)', () => {
  it('publishes, lists versions and models, and moves an alias', async () => {
    const published = await runCli(
      ['registry', 'publish', 'mnist.onnx', '--name', 'mnist', '--alias', 'candidate', '--metadata', 'accuracy=0.91'],
      { cwd: dir, env },
    );
    expect(published.stderr).toBe('');
    expect(published.code).toBe(0);
    expect(published.stdout).toContain('published mnist version 1 (candidate)');
    expect(published.stdout).toContain(`sha256  ${sha256}`);
    const again = await runCli(['registry', 'publish', 'mnist.onnx', '--name', 'mnist', '--json'], { cwd: dir, env });
    expect(JSON.parse(again.stdout)).toMatchObject({ name: 'mnist', version: '2', sha256 });
    const alias = await runCli(['registry', 'alias', 'mnist', 'production', '2'], { cwd: dir, env });
    expect(alias.code).toBe(0);
    const versions = await runCli(['registry', 'versions', 'mnist', '--json'], { cwd: dir, env });
    const list = JSON.parse(versions.stdout) as { version: string; aliases: string[]; metadata: object }[];
    expect(list.map((v) => [v.version, v.aliases])).toEqual([
      ['1', ['candidate']],
      ['2', ['production']],
    ]);
    expect(list[0]?.metadata).toMatchObject({ accuracy: 0.91 });
    const ls = await runCli(['registry', 'ls'], { cwd: dir, env });
    expect(ls.stdout.trim()).toBe('mnist');
  });

  it('says what is missing instead of guessing (exit 2)', async () => {
    const noVersion = await runCli(['registry', 'alias', 'mnist', 'production'], { cwd: dir, env });
    expect(noVersion.code).toBe(2);
    expect(noVersion.stderr).toContain('Give the version the alias points at');
    const badKind = await runCli(['registry', 'ls', '--registry', 'ftp'], { cwd: dir, env });
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toContain('--registry is local, mlflow, wandb, sagemaker, dvc, vertex or azureml');
  });
});

describe('modelship registry --registry mlflow', () => {
  it('lists versions and sets aliases in the MLflow Model Registry from MLFLOW_TRACKING_URI', async () => {
    mlflow.addVersion('digits', 'mlflow-artifacts:/d1');
    mlflow.addVersion('digits', 'mlflow-artifacts:/d2');
    const alias = await runCli(['registry', 'alias', 'digits', 'champion', '2', '--registry', 'mlflow'], { env });
    expect(alias.stderr).toBe('');
    expect(alias.code).toBe(0);
    const versions = await runCli(['registry', 'versions', 'digits', '--registry', 'mlflow'], { env });
    expect(versions.code).toBe(0);
    expect(versions.stdout).toMatch(/^2 +champion/m);
    const ls = await runCli(['registry', 'ls', '--registry', 'mlflow'], { env });
    expect(ls.code).toBe(2);
    expect(ls.stderr).toContain('cannot list its models; use `modelship registry versions <name>`');
  });
});

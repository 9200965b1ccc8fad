/**
 * Bad config files through the built command: every problem is reported with its key, line and column, the
 * exit code is 2 (a usage error), and nothing starts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/models.js';
import { runCli } from './cli.js';

let dir: string;
const NO_CREDENTIALS = { WANDB_API_KEY: '', MLFLOW_TRACKING_URI: '', REGISTRY_TOKEN: '' };

const GOOD = `version: 1
registries:
  local:
    type: local
    root: ./models
models:
  iris:
    ref: ./iris.onnx
    workers: 1
deployments:
  digits:
    registry: local
    stable: digits@production
    canary: { ref: digits@candidate, weight: 0.1 }
`;

async function check(text: string, name = 'modelship.yaml', env: NodeJS.ProcessEnv = NO_CREDENTIALS) {
  const file = join(dir, name);
  await writeFile(file, text);
  return runCli(['config', 'check', file], { env });
}

beforeAll(async () => {
  dir = await tempDir('modelship-cli-config-');
});

describe('modelship config check', () => {
  it('accepts a valid file (exit 0)', async () => {
    const r = await check(GOOD);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok .*modelship.yaml: 1 registries, 1 models, 1 deployments/);
  });

  it('names an unknown key at its line and column', async () => {
    const r = await check(GOOD.replace('    workers: 1', '    workerz: 1'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error INVALID_OPTIONS');
    expect(r.stderr).toContain('modelship.yaml:9:5 models.iris.workerz: unknown key');
  });

  it('names a value of the wrong type, and one out of range, with the library schema message', async () => {
    const r = await check(GOOD.replace('workers: 1', 'workers: two').replace('weight: 0.1', 'weight: 1.5'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/modelship\.yaml:9:5 models\.iris\.workers: .*expected number, received string/);
    expect(r.stderr).toMatch(/modelship\.yaml:14:38 deployments\.digits\.canary\.weight: .*<=1/);
  });

  it('names a credential the environment lacks, at the entry that needs it', async () => {
    const text = GOOD.replace(
      'models:',
      'trackers:\n  wb:\n    type: wandb\n    project: p\n  ml:\n    type: mlflow\n    tokenEnv: REGISTRY_TOKEN\n    trackingUri: http://127.0.0.1:5000\nmodels:',
    );
    const r2 = await check(text);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('modelship.yaml:8:5 trackers.wb.type: a W&B entry needs an API key: set WANDB_API_KEY');
    expect(r2.stderr).toContain(
      'modelship.yaml:12:5 trackers.ml.tokenEnv: the environment variable REGISTRY_TOKEN is not set',
    );
    const withKey = await check(text, 'modelship.yaml', { WANDB_API_KEY: 'k'.repeat(40), REGISTRY_TOKEN: 't' });
    expect(withKey.code).toBe(0);
  });

  it('refuses a secret written in the file, saying where it goes instead', async () => {
    const r = await check(GOOD.replace('    root: ./models', '    root: ./models\n    token: s3cr3t'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('modelship.yaml:6:5 registries.local.token:');
    const mlflow = await check(
      GOOD.replace(
        'type: local\n    root: ./models',
        'type: mlflow\n    trackingUri: http://x:5000\n    token: s3cr3t',
      ),
    );
    expect(mlflow.stderr).toContain('registries.local.token: a config file holds no secrets');
    expect(mlflow.stderr).toContain('tokenEnv');
    expect(mlflow.stderr).not.toContain('s3cr3t');
  });

  it('names a reference to a registry the file does not define', async () => {
    const r = await check(GOOD.replace('registry: local', 'registry: prod'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('modelship.yaml:12:5 deployments.digits.registry: no registry "prod" in registries');
  });

  it('reads JSON files the same way, with lines', async () => {
    const json = JSON.stringify({ models: { iris: { ref: './iris.onnx', workers: -1 } } }, null, 2);
    const r = await check(json, 'modelship.json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/modelship\.json:5:7 models\.iris\.workers: .*>=0/);
  });

  it('reports a YAML syntax error with its line, and a missing file without its path', async () => {
    const r = await check('models:\n  iris: [1,\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/modelship\.yaml:\d+:\d+ \(syntax\)/);
    const missing = await runCli(['config', 'check', join(dir, 'nope', 'modelship.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot be read (ENOENT)');
    expect(missing.stderr).not.toContain(dir);
  });

  it('makes serve refuse a bad file before starting anything', async () => {
    const file = join(dir, 'bad-serve.yaml');
    await writeFile(file, GOOD.replace('    workers: 1', '    workers: 1\n    colour: blue'));
    const r = await runCli(['serve', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad-serve.yaml:10:5 models.iris.colour: unknown key');
    expect(r.stdout).not.toContain('listening');
  });
});

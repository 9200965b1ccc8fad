/**
 * `dvc:` references through the built bin: picked from the environment (`MODELSHIP_DVC_REPO`) and from a
 * config file's `type: dvc` registry, against a real Git repository holding a DVC project (GTO tags, a local
 * DVC remote; test/registries/dvc/repo.ts), as `modelship pull` and `modelship config check` see them.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDvcRegistry, registryForRef } from 'modelship';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { createDvcOrigin } from '../registries/dvc/repo.js';
import { runCli } from './cli.js';

let root: string;
let bare: string;
const sha256 = createHash('sha256').update(tinyMnist().onnx).digest('hex');

beforeAll(async () => {
  root = await tempDir('modelship-cli-dvc-');
  ({ bare } = await createDvcOrigin(root, 'models', join(root, 'dvc-store')));
  const registry = createDvcRegistry({ repo: bare, cacheDir: join(root, 'publish-cache') });
  await registry.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['prod'] });
});

describe('dvc: references', () => {
  it('pull dvc:<name>#<stage> picks the DVC registry from MODELSHIP_DVC_REPO', async () => {
    const env = { MODELSHIP_DVC_REPO: bare, MODELSHIP_CACHE_DIR: await tempDir('modelship-cli-dvc-cache-') };
    const r = await runCli(['pull', 'dvc:digits#prod'], { env });
    expect(r.stderr).not.toMatch(/^error/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('resolved dvc:digits#prod → digits version v0.0.1');
    expect(r.stdout).toContain(`sha256  ${sha256}`);
  });

  it('names the variable to set when MODELSHIP_DVC_REPO is missing', async () => {
    expect(() => registryForRef('dvc:digits#prod', {})).toThrow(/MODELSHIP_DVC_REPO is not set.*createDvcRegistry/);
    const r = await runCli(['pull', 'dvc:digits#prod'], { env: { MODELSHIP_DVC_REPO: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error INVALID_OPTIONS: .*MODELSHIP_DVC_REPO is not set/m);
  });

  it('a config file registry of type dvc (a repository path relative to the file)', async () => {
    // The file sits beside the repository (root/models.git) and names it relatively; the command runs elsewhere.
    const file = join(root, 'modelship.yaml');
    await writeFile(
      file,
      `version: 1\nregistries:\n  models:\n    type: dvc\n    repo: ./models.git\n    cacheDir: ./cli-cache\n`,
    );
    const checked = await runCli(['config', 'check', file]);
    expect(checked.code).toBe(0);
    const r = await runCli(['pull', 'digits#prod', '--config', file, '--json'], { cwd: await tempDir() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'digits', version: 'v0.0.1', sha256 });
    // A token in the file is refused: LFS headers come from Git's credential helpers, not the file.
    await writeFile(
      file,
      `version: 1\nregistries:\n  models:\n    type: dvc\n    repo: ./models.git\n    lfs: { headers: { authorization: Bearer x } }\n`,
    );
    const refused = await runCli(['config', 'check', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/headers/);
  });
});

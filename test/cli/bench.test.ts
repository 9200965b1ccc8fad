/**
 * `modelship bench --quick` on a model through the built bin: a bounded sweep on the real serving runtime
 * (onnxruntime-node workers, the batcher), every point reported, and a recommendation. No figures are
 * asserted (timings belong to bench/); the choice rule is checked on fixed points.
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recommend, type BenchPoint } from '../../src/cli/commands/bench.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { runCli } from './cli.js';

const point = (maxBatchSize: number, concurrency: number, throughput: number, p99Ms: number): BenchPoint => ({
  maxBatchSize,
  maxQueueDelayMs: 0,
  concurrency,
  requests: 10,
  throughput,
  p50Ms: p99Ms / 2,
  p99Ms,
});

describe('modelship bench', () => {
  it('--quick sweeps batch size and concurrency and recommends settings (exit 0)', async () => {
    const dir = await tempDir('modelship-cli-bench-');
    await writeFile(join(dir, 'mnist.onnx'), tinyMnist().onnx);
    // A budget no point can meet: the recommendation then says so and falls back to the lowest p99.
    const r = await runCli(['bench', 'mnist.onnx', '--quick', '--requests', '16', '--p99', '0.0001ms', '--json'], {
      cwd: dir,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.points.map((p: BenchPoint) => [p.maxBatchSize, p.concurrency])).toEqual([
      [1, 1],
      [1, 8],
      [8, 1],
      [8, 8],
    ]);
    for (const p of report.points as BenchPoint[]) {
      expect(p.throughput).toBeGreaterThan(0);
      expect(p.p99Ms).toBeGreaterThanOrEqual(p.p50Ms);
    }
    expect(report.recommendation).toMatchObject({ workers: Math.min(availableParallelism(), 2), withinBudget: false });
    const lowest = Math.min(...report.points.map((p: BenchPoint) => p.p99Ms));
    expect(report.points).toContainEqual(
      expect.objectContaining({ maxBatchSize: report.recommendation.maxBatchSize, p99Ms: lowest }),
    );
  });

  it('recommends the most throughput within the p99 budget', () => {
    const points = [point(1, 1, 1000, 2), point(8, 8, 5000, 9), point(32, 32, 9000, 40)];
    expect(recommend(points, 10)).toMatchObject({ maxBatchSize: 8 });
    expect(recommend(points, undefined)).toMatchObject({ maxBatchSize: 32 });
    expect(recommend(points, 1)).toMatchObject({ maxBatchSize: 1 });
  });
});

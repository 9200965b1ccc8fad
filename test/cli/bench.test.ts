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
import { recommendWorkers, workerCounts, type WorkerPoint } from '../../src/cli/commands/bench-workers.js';
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
    // The worker sweep: 1 and 2 workers with --quick (bounded by the cores), the recommendation one of them.
    const counts = availableParallelism() >= 2 ? [1, 2] : [1];
    expect(report.workerPoints.map((p: WorkerPoint) => p.workers)).toEqual(counts);
    for (const p of report.workerPoints as WorkerPoint[]) expect(p.throughput).toBeGreaterThan(0);
    expect(counts).toContain(report.recommendation.workers);
    expect(report.recommendation).toMatchObject({ withinBudget: false });
    // The adaptive batching's own measurement: a batch-gain curve from the warm-up, its choice and why.
    expect(report.adaptive).toMatchObject({ source: 'auto', mode: expect.stringMatching(/^(split|join)$/) });
    expect(report.adaptive.curve.length).toBeGreaterThanOrEqual(1); // one point when a run fills the warm-up budget
    expect(report.adaptive.curve[0]).toMatchObject({ rows: 1, gain: 1, source: 'warm-up' });
    expect(report.adaptive.reason).toMatch(/maxBatchSize/);
    expect(report.adaptive.point.throughput).toBeGreaterThan(0);
    const lowest = Math.min(...report.points.map((p: BenchPoint) => p.p99Ms));
    expect(report.points).toContainEqual(
      expect.objectContaining({ maxBatchSize: report.recommendation.maxBatchSize, p99Ms: lowest }),
    );
  });

  it('prints the sweeps, the batch-gain curve and the choice as tables', async () => {
    const dir = await tempDir('modelship-cli-bench-');
    await writeFile(join(dir, 'mnist.onnx'), tinyMnist().onnx);
    const r = await runCli(['bench', 'mnist.onnx', '--quick', '--requests', '8', '--workers', '1'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/batch sweep \(1 workers\)/);
    expect(r.stdout).toMatch(/worker sweep[^\n]*\n\s*workers\s+req\/s/);
    expect(r.stdout).toMatch(/adaptive batching[^\n]*\n\s*rows\s+run ms\s+rows\/s\s+gain/);
    expect(r.stdout).toMatch(/chosen: maxBatchSize \d+/);
    expect(r.stdout).toMatch(/recommended: batching \{ maxBatchSize: \d+, maxQueueDelayMs: \d+ \}, workers: 1/);
  });

  it('sweeps 1..cores workers and recommends the fewest within 5 % of the best', () => {
    expect(workerCounts(1, false)).toEqual([1]);
    expect(workerCounts(6, false)).toEqual([1, 2, 4, 6]);
    expect(workerCounts(8, false)).toEqual([1, 2, 4, 8]);
    expect(workerCounts(8, true)).toEqual([1, 2]);
    const w = (workers: number, throughput: number, p99Ms: number): WorkerPoint => ({
      workers,
      concurrency: 8,
      requests: 10,
      throughput,
      p50Ms: p99Ms / 2,
      p99Ms,
    });
    const points = [w(1, 1000, 5), w(2, 1900, 6), w(4, 1960, 30)];
    expect(recommendWorkers(points, undefined)?.workers).toBe(2);
    expect(recommendWorkers(points, 10)?.workers).toBe(2);
    expect(recommendWorkers(points, 5.5)?.workers).toBe(1);
    expect(recommendWorkers(points, 1)?.workers).toBe(1);
  });

  it('recommends the most throughput within the p99 budget', () => {
    const points = [point(1, 1, 1000, 2), point(8, 8, 5000, 9), point(32, 32, 9000, 40)];
    expect(recommend(points, 10)).toMatchObject({ maxBatchSize: 8 });
    expect(recommend(points, undefined)).toMatchObject({ maxBatchSize: 32 });
    expect(recommend(points, 1)).toMatchObject({ maxBatchSize: 1 });
  });
});

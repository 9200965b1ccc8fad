/**
 * `npm run bench -- --quick` end to end: every case runs (in-process, event loop, HTTP against three real
 * servers) and results.json has the documented shape. No target is asserted: timings belong to the bench.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/models.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const KEYS = [
  'tiny_mlp_c64_throughput_ratio',
  'mnist_mlp_c64_throughput_ratio',
  'mnist_mlp_c1_p50_latency_ratio',
  'event_loop_delay_p99_ms',
  'http_vs_naive_express_ratio',
  'http_vs_bare_node_ratio',
];

describe('npm run bench -- --quick', () => {
  it('runs every case and writes { machine, results, details } with every key', async () => {
    const out = join(await tempDir('modelship-bench-'), 'results.json');
    const child = spawn('npm', ['run', 'bench', '--', '--quick'], {
      cwd: root,
      env: { ...process.env, BENCH_OUT: out },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout?.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code, log).toBe(0);
    const parsed = JSON.parse(await readFile(out, 'utf8')) as {
      machine: Record<string, unknown>;
      results: Record<string, number>;
      details: Record<string, unknown>;
    };
    expect(parsed.machine).toMatchObject({ quick: true, cores: expect.any(Number) });
    for (const key of KEYS) {
      expect(Number.isFinite(parsed.results[key]), key).toBe(true);
      expect(parsed.results[key], key).toBeGreaterThanOrEqual(0);
    }
    expect(Object.keys(parsed.details)).toEqual(expect.arrayContaining(['http', 'tiny_mlp_c64_throughput_ratio']));
    // One progress line per case, then the table.
    expect(log).toMatch(/tiny_mlp modelship, 64 callers/);
    expect(log).toMatch(/\| `http_vs_bare_node_ratio` \|/);
  }, 240_000);
});

/**
 * `npm run soak` in miniature (6 s): the same load, hot swaps and tracker outages through the real server,
 * peer process and tracker, so the script keeps working between the long runs. Its RSS figure is not
 * checked here: 6 s is all warm-up.
 */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { soak, soakOptions } from '../../bench/soak.js';
import { tempDir } from '../helpers/models.js';

describe('npm run soak', () => {
  it('reads --minutes and --seconds, and scales swaps and outages to the run', () => {
    expect(soakOptions([], {}).durationMs).toBe(30 * 60_000);
    const long = soakOptions(['--minutes', '30'], {});
    expect([long.swapEveryMs, long.outageEveryMs, long.outageMs, long.progressEveryMs]).toEqual([
      5000, 60_000, 10_000, 30_000,
    ]);
    expect(soakOptions(['--minutes=2'], {}).durationMs).toBe(120_000);
    expect(soakOptions([], { SOAK_SECONDS: '5' }).durationMs).toBe(5000);
    expect(() => soakOptions(['--minutes', 'x'], {})).toThrow(/positive number/);
  });

  it('serves every request through swaps and tracker outages, and loses no metric', async () => {
    const resultsDir = await tempDir('modelship-soak-results-');
    const lines: string[] = [];
    const summary = await soak({ ...soakOptions(['--seconds', '6'], {}), resultsDir }, (line) => lines.push(line));
    expect(summary.requests).toBeGreaterThan(0);
    expect([summary.non2xx, summary.errors, summary.swapFailures]).toEqual([0, 0, []]);
    expect(summary.swaps).toBeGreaterThan(0);
    expect(summary.trackerOutages).toBeGreaterThan(0);
    expect(summary.metrics.logged).toBeGreaterThan(0);
    expect(summary.metrics.lost).toBe(0);
    const [file] = await readdir(resultsDir);
    expect(JSON.parse(await readFile(`${resultsDir}/${file}`, 'utf8'))).toMatchObject({
      requests: summary.requests,
      swaps: summary.swaps,
    });
    expect(lines.some((l) => l.startsWith('['))).toBe(true); // progress lines
  }, 60_000);
});

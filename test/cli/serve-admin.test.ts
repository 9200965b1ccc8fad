/**
 * The admin commands (`status`, `weights`, `switch`, `promote`, `rollback`) through the built bin against a
 * running `modelship serve --config` (test/cli/serve-fixture.ts): the deployment driven from a terminal, and
 * the refusals (wrong token, a file that is no token, unknown deployment, unknown alias) with their exit codes.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { serveConfig, type Served } from './serve-fixture.js';

let served: Served;

beforeAll(async () => {
  served = await serveConfig();
});

afterAll(async () => {
  await served?.server.stop();
});

describe('modelship status|weights|switch|promote|rollback', () => {
  const admin = (...args: string[]) =>
    runCli([...args, '--url', served.url, '--token-file', join(served.dir, 'admin-token')]);

  it('refuses a wrong token, a file that is no token, an unknown deployment and an unknown alias', async () => {
    await writeFile(join(served.dir, 'wrong-token'), 'w'.repeat(24));
    // None of these changes the deployment, so they run side by side.
    const [refused, wrongToken, notAToken, unknown] = await Promise.all([
      admin('switch', 'digits', 'digits@nowhere'),
      runCli(['status', '--url', served.url, '--token-file', join(served.dir, 'wrong-token')]),
      runCli(['status', '--url', served.url, '--token-file', join(served.dir, 'modelship.yaml')]),
      admin('promote', 'nope'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: ALIAS_NOT_FOUND: /m);
    expect(wrongToken.code).toBe(2);
    expect(wrongToken.stderr).toContain('UNAUTHORIZED');
    expect(notAToken.code).toBe(2);
    expect(notAToken.stderr).toContain('error INVALID_OPTIONS: The token file does not hold a token');
    expect(unknown.code).toBe(2);
  });

  it('drives the deployment from a terminal: status, weights, promote, rollback', async () => {
    const status = await admin('status', 'digits');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^stable +1 +digits@production +\S+ +50%/m);
    expect(status.stdout).toMatch(/^canary +2 +digits@candidate +\S+ +50%/m);
    const weights = await admin('weights', 'digits', '0.25');
    expect(weights.code).toBe(0);
    expect(weights.stdout).toMatch(/^canary +2 +\S+ +\S+ +25%/m);
    const promoted = await admin('promote', 'digits', '--json');
    expect(promoted.code).toBe(0);
    expect(JSON.parse(promoted.stdout)).toMatchObject({ stable: { version: '2' } });
    expect(JSON.parse(promoted.stdout).canary).toBeUndefined();
    const rolledBack = await admin('rollback', 'digits', '--json');
    expect(rolledBack.code).toBe(0);
    expect(JSON.parse(rolledBack.stdout)).toMatchObject({ stable: { version: '1' } });
  });
});

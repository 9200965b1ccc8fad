/**
 * `modelship serve <stable> --shadow <ref>` through the built bin: every request is answered by stable, the
 * shadow sees a mirror of the traffic (counted in the deployment's status) and never answers a caller.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalRegistry } from 'modelship';
import { postJson } from '../helpers/http.js';
import { digits } from '../helpers/deployments.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import type { RunningProcess } from '../helpers/process.js';
import { until } from '../helpers/wait.js';
import { startCli } from './cli.js';

const TOKEN = 't0ken-'.repeat(4);
let server: RunningProcess;
let url: string;

beforeAll(async () => {
  const dir = await tempDir('modelship-cli-shadow-');
  // The local registry the command picks by itself: ./models in the working directory.
  const registry = createLocalRegistry({ root: join(dir, 'models') });
  await registry.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['production'] });
  await registry.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['candidate'] });
  await writeFile(join(dir, 'admin-token'), TOKEN);
  server = await startCli(
    [
      'serve',
      'digits@production',
      '--shadow',
      'digits@candidate',
      '--port',
      '0',
      '--workers',
      '1',
      '--admin-token-file',
      'admin-token',
    ],
    { cwd: dir, ready: /listening on (http:\/\/\S+)/ },
  );
  url = server.match[1] as string;
});

afterAll(async () => {
  await server?.stop();
});

const status = async () => {
  const res = await fetch(`${url}/admin/deployments/digits`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    stable: { version: string; stats: { requests: number } };
    shadow?: { version: string; mirror: { completed: number; failed: number; dropped: number } };
  };
};

describe('modelship serve --shadow', () => {
  it('prints the deployment with its shadow when ready', () => {
    expect(server.output()).toMatch(/^ready digits deployment: stable 1, shadow 2$/m);
  });

  it('answers every request from stable and mirrors each to the shadow', async () => {
    const { images, labels } = digits(1);
    const n = 12;
    for (let i = 0; i < n; i++) {
      const res = await postJson(`${url}/models/digits/predict`, { inputs: images });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-modelship-version')).toBe('1');
      const scores = res.body.outputs.probabilities[0] as number[];
      expect(scores.indexOf(Math.max(...scores))).toBe(labels[0]);
    }
    // The mirror runs off the callers' path: wait for it to have taken every request.
    await until(async () => {
      const m = (await status()).shadow?.mirror;
      return m !== undefined && m.completed + m.failed + m.dropped >= n;
    }, 'the shadow to see every mirrored request');
    const s = await status();
    expect(s.shadow).toMatchObject({ version: '2', mirror: { completed: n, failed: 0, dropped: 0 } });
    expect(s.stable.stats.requests).toBe(n);
  });
});

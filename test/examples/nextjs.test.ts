/**
 * examples/nextjs as a user runs it: `npm run build` (trains the model on first run, then `next build`,
 * offline, telemetry off) and `next start`; then `POST /api/predict` with a real test digit, answered by the
 * App Router route handler on the Node.js runtime, and the page that calls it renders.
 */
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, silentLogger } from 'modelship';
import { digitImage, loadMnist } from '../../examples/shared/mnist-data.js';
import { chromiumForTests, launchChromium } from '../helpers/browser.js';
import { postJson } from '../helpers/http.js';
import { freePort, startProcess, type RunningProcess } from '../helpers/process.js';
import { runCommand } from '../helpers/run.js';

const example = fileURLToPath(new URL('../../examples/nextjs/', import.meta.url));
const env = { NEXT_TELEMETRY_DISABLED: '1' };

describe('examples/nextjs', () => {
  let app: RunningProcess;
  let url: string;

  beforeAll(async () => {
    await runCommand('npm', ['run', 'build'], { cwd: example, env });
    const port = await freePort();
    app = await startProcess('npm', ['start', '--', '--port', String(port), '--hostname', '127.0.0.1'], {
      cwd: example,
      env,
      ready: /Ready in/,
    });
    url = `http://127.0.0.1:${port}`;
  }, 300_000);

  afterAll(async () => {
    await app?.stop();
  });

  it('answers POST /api/predict from the route handler on the Node.js runtime', async () => {
    const { test } = loadMnist();
    const rows = [0, 1, 2, 3].map((i) => digitImage(test, i));
    const res = await postJson(`${url}/api/predict`, { inputs: rows });
    expect(res.status).toBe(200);
    expect(res.body.model).toBe('mnist');
    // The same answers as the model file loaded here, in-process.
    await using local = await loadModel(`${example}models/mnist.onnx`, { logger: silentLogger });
    const expected = await local.predict(rows);
    expect(res.body.outputs.label).toEqual(expected.label?.toArray());
    expect(res.body.outputs.probabilities).toEqual(expected.probabilities?.toArray());

    const bad = await postJson(`${url}/api/predict`, { inputs: [['x']] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
  });

  it.skipIf(!chromiumForTests('the Next.js in-browser page test'))(
    'runs the same model client-side on /in-browser (Turbopack emits the .wasm; no config)',
    async () => {
      let browser: Browser | undefined;
      try {
        browser = await launchChromium();
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${url}/in-browser`);
        await page.waitForFunction(() => /Done|Error/.test(document.getElementById('status')?.textContent ?? ''));
        expect(await page.textContent('#status')).toContain('Done');
        const labels = (await page.textContent('#labels'))?.split(', ').map(Number);
        const { test } = loadMnist();
        const rows = [0, 1, 2, 3, 4, 5].map((i) => digitImage(test, i).map((v) => Math.round(v * 1000) / 1000));
        const server = await postJson(`${url}/api/predict`, { inputs: rows });
        expect(labels).toEqual(server.body.outputs.label);
        expect(errors).toEqual([]);
      } finally {
        await browser?.close();
      }
    },
  );

  it('serves the page that calls it', async () => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('MNIST on a Next.js route handler');
    expect(html.match(/data-index="/g)).toHaveLength(6);
  });
});

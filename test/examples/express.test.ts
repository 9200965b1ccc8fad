/**
 * examples/express as a user runs it (`npm start` from its folder): the model is trained on first start,
 * `POST /predict` answers a real test digit, and `/metrics` serves Prometheus text that counts it.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digitImage, loadMnist } from '../../examples/shared/mnist-data.js';
import { postJson } from '../helpers/http.js';
import { startProcess, type RunningProcess } from '../helpers/process.js';

const example = fileURLToPath(new URL('../../examples/express/', import.meta.url));

describe('examples/express', () => {
  let app: RunningProcess;
  let url: string;

  beforeAll(async () => {
    app = await startProcess('npm', ['start'], {
      cwd: example,
      env: { PORT: '0' },
      ready: /listening on (http:\/\/\S+)/,
    });
    url = app.match[1] as string;
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
  });

  it('serves POST /predict for the demo model', async () => {
    const { test } = loadMnist();
    const rows = [0, 1, 2, 3].map((i) => digitImage(test, i));
    const res = await postJson(`${url}/predict`, { inputs: rows });
    expect(res.status).toBe(200);
    expect(res.body.model).toBe('mnist');
    expect(res.body.outputs.probabilities).toHaveLength(4);
    for (const p of res.body.outputs.probabilities)
      expect(p.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
    const right = res.body.outputs.label.filter((l: number, i: number) => l === test.labels[i]).length;
    expect(right).toBeGreaterThanOrEqual(3);

    const bad = await postJson(`${url}/predict`, { inputs: [[1, 2, 3]] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
  });

  it('serves Prometheus metrics at /metrics', async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('# TYPE http_server_request_duration histogram');
    expect(text).toMatch(
      /http_server_request_duration_count\{http_request_method="POST",http_route="\/predict",http_response_status_code="200"[^}]*\} 1/,
    );
    expect(text).toMatch(
      /http_server_request_duration_count\{http_request_method="POST",http_route="\/predict",http_response_status_code="400"[^}]*\} 1/,
    );
  });
});

/**
 * `modelship pull https://…#sha256=…` through the built bin: the model comes from a real HTTPS server (a
 * self-signed certificate made with openssl, trusted through NODE_EXTRA_CA_CERTS as a user would) into the
 * cache `serve` reads URL references from, with progress lines; a wrong pin and `--offline` are refused.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { runCli } from './cli.js';

const bytes = tinyMnist().onnx;
const sha256 = createHash('sha256').update(bytes).digest('hex');
let server: Server;
let url: string;
let env: NodeJS.ProcessEnv;
let cacheDir: string;
const requests: string[] = [];

beforeAll(async () => {
  const dir = await tempDir('modelship-cli-tls-');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]),
    { stdio: 'ignore' },
  );
  const [key, cert] = await Promise.all([readFile(join(dir, 'key.pem')), readFile(join(dir, 'cert.pem'))]);
  // A static file host as a CDN or object store's public URL answers: the length known, 404 for anything else.
  server = createServer({ key, cert }, (req, res) => {
    requests.push(req.url ?? '');
    if (req.url !== '/models/digits.onnx') return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' }).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/models/digits.onnx`;
  cacheDir = await tempDir('modelship-cli-url-cache-');
  env = { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'), MODELSHIP_CACHE_DIR: cacheDir };
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('modelship pull <url>', () => {
  it('downloads an https URL into the cache with progress, printing the version and sha256', async () => {
    const r = await runCli(['pull', `${url}#sha256=${sha256}`], { env });
    expect(r.code).toBe(0);
    // The server sends a length, so the lines give the share and an ETA.
    expect(r.stderr).toMatch(/^downloading https:\/\/127\.0\.0\.1:\d+\/models\/digits\.onnx: .* \(\d+%\), .*\/s/m);
    expect(r.stdout).toContain(`→ digits version ${sha256.slice(0, 12)}`);
    expect(r.stdout).toContain(`sha256  ${sha256}`);
    expect(requests).toContain('/models/digits.onnx');
    // The cache now holds the file, under the directory serve and loadModel read.
    const cached = await readdir(cacheDir, { recursive: true });
    expect(cached.length).toBeGreaterThan(0);
  });

  it('--json gives the summary; the pinned file is then served from the cache', async () => {
    const before = requests.length;
    const r = await runCli(['pull', `${url}#sha256=${sha256}`, '--json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'digits', sha256, size: bytes.length });
    expect(requests.length).toBe(before);
  });

  it('refuses a wrong #sha256= pin, a missing file and --offline, with their codes', async () => {
    const wrong = await runCli(['pull', `${url.replace('digits', 'digits2')}#sha256=${'0'.repeat(64)}`], { env });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/^error [A-Z_]+: /m);
    const bad = await runCli(['pull', `${url}#sha256=${'0'.repeat(64)}`], {
      env: { ...env, MODELSHIP_CACHE_DIR: await tempDir('modelship-cli-url-cache-') },
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^error INTEGRITY_MISMATCH: /m);
    expect(bad.stderr).not.toContain(cacheDir);
    const offline = await runCli(['pull', url, '--offline'], { env });
    expect(offline.code).toBe(2);
    expect(offline.stderr).toMatch(/^error INVALID_OPTIONS: --offline checks registry references/m);
  });
});

/**
 * `npm run demo` end to end, as a user runs it: train on real digits, publish, serve on a real port, and the
 * printed curl commands answer correctly. A second run reuses the published model instead of retraining.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/models.js';
import { until } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface DemoRun {
  child: ChildProcess;
  output: () => string;
  url: string;
}

async function startDemo(modelsDir: string): Promise<DemoRun> {
  const child = spawn('npm', ['run', 'demo'], {
    cwd: root,
    env: { ...process.env, PORT: '0', MODELSHIP_MODELS_DIR: modelsDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() reaches npm and the demo under it
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /modelship demo ready on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1] as string);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`demo exited with ${code} before it was ready:\n${output}`)));
  });
  return { child, output: () => output, url };
}

/** Sends SIGTERM to the demo's process group, as a terminal's Ctrl-C reaches npm and the demo alike. */
async function stop(run: DemoRun): Promise<void> {
  const exited = once(run.child, 'exit');
  process.kill(-(run.child.pid as number), 'SIGTERM');
  await exited;
  // npm exits first; the demo's server drains (an idle keep-alive connection may still get one answer) and
  // exits after it. Wait until no process of the group is left.
  await until(() => {
    try {
      process.kill(-(run.child.pid as number), 0);
      return false;
    } catch {
      return true;
    }
  }, "the demo's processes to exit");
  await expect(fetch(`${run.url}/healthz`)).rejects.toThrow();
}

/** Parses a printed `curl -s URL -H '…' -d @file` command and reads the file as curl does (from the demo's cwd). */
async function parseCurl(command: string): Promise<{ url: string; body: unknown }> {
  const match = /^curl -s (\S+) -H 'content-type: application\/json' \\\n\s+-d @(\S+)$/.exec(command.trim());
  if (!match) throw new Error(`not a curl command: ${command.slice(0, 120)}`);
  return { url: match[1] as string, body: JSON.parse(await readFile(join(root, match[2] as string), 'utf8')) };
}

describe('npm run demo', () => {
  it('trains, publishes, serves real digits through both endpoints, and reuses the model on a second run', async () => {
    const modelsDir = await tempDir();
    const first = await startDemo(modelsDir);
    try {
      const text = first.output();
      expect(text).toContain('Training a digit classifier on real MNIST digits');
      const accuracy = Number(/test accuracy ([\d.]+)% on 2000 held-out digits/.exec(text)?.[1]);
      expect(accuracy).toBeGreaterThanOrEqual(90);
      const digit = Number(/Test digit #0 is a (\d)/.exec(text)?.[1]);

      const commands = text.split('\n\n').filter((block) => block.startsWith('curl -s'));
      expect(commands).toHaveLength(2);
      // Short commands: the 784 numbers are in the files, not on the command line.
      expect(commands.every((c) => c.length < 200)).toBe(true);
      const [predict, infer] = (await Promise.all(commands.map(parseCurl))) as [
        { url: string; body: unknown },
        { url: string; body: unknown },
      ];
      expect(predict.url).toBe(`${first.url}/predict`);
      expect(infer.url).toBe(`${first.url}/v2/models/mnist/infer`);

      const post = async (c: { url: string; body: unknown }): Promise<any> => {
        const res = await fetch(c.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(c.body),
        });
        expect(res.status).toBe(200);
        return res.json();
      };
      const a = await post(predict);
      expect(a.model).toBe('mnist');
      expect(a.version).toBe('1');
      expect(a.outputs.label).toEqual([digit]);
      const b = await post(infer);
      const label = b.outputs.find((o: { name: string }) => o.name === 'label');
      expect(label).toEqual({ name: 'label', shape: [1], datatype: 'INT64', data: [digit] });

      expect(text).toContain(`curl -s ${first.url}/metrics`);
      const metrics = await (await fetch(`${first.url}/metrics`)).text();
      // The demo's own check of test digit #0, then the two requests above.
      expect(metrics).toMatch(/^modelship_requests_total\{[^}]*model_name="mnist"[^}]*outcome="success"[^}]*\} 3$/m);
      // The demo names its service, and modelship reports its own version (not a development placeholder).
      expect(metrics).toMatch(/^target_info\{[^}]*service_name="modelship-demo"/m);
      const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
      expect(metrics).toMatch(new RegExp(`^modelship_requests_total\\{[^}]*otel_scope_version="${version}"`, 'm'));
    } finally {
      await stop(first);
    }
    expect(first.output()).toContain('Shutting down');

    const second = await startDemo(modelsDir);
    try {
      expect(second.output()).toContain('Using mnist version 1 (alias production)');
      expect(second.output()).not.toContain('Training');
    } finally {
      await stop(second);
    }

    // A port in use: the hint names the demo's own setting, PORT.
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const child = spawn('npm', ['run', 'demo'], {
        cwd: root,
        env: { ...process.env, PORT: String(taken), MODELSHIP_MODELS_DIR: modelsDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).not.toBe(0);
      expect(output).toContain(`Port ${taken} is in use`);
      expect(output).toContain('PORT=8081 npm run demo');
    } finally {
      blocker.close();
    }
  }, 180_000);
});

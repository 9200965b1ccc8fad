/**
 * The served setup the `modelship serve --config` tests share: a local registry with two versions of a digits
 * model, a plain model file, an admin token, and a config file naming them (a model and a canary deployment,
 * admin routes and /metrics on), started through the built bin. Each test file starts its own server so the
 * files stay short and run apart.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalRegistry } from 'modelship';
import { addOneModel, tempDir, tinyMnist } from '../helpers/models.js';
import type { RunningProcess } from '../helpers/process.js';
import { startCli } from './cli.js';

/** A running `modelship serve --config` and where it lives. */
export interface Served {
  readonly dir: string;
  readonly server: RunningProcess;
  readonly url: string;
}

/** Writes the models, token and config into a new directory and starts `modelship serve --config` on it. */
export async function serveConfig(): Promise<Served> {
  const dir = await tempDir('modelship-cli-serve-');
  const registry = createLocalRegistry({ root: join(dir, 'models') });
  await registry.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['production'] });
  await registry.publish({ name: 'digits', bytes: tinyMnist().onnx, aliases: ['candidate'] });
  await writeFile(join(dir, 'addone.onnx'), addOneModel());
  await writeFile(join(dir, 'admin-token'), `${'t0ken-'.repeat(4)}\n`);
  // Relative paths are relative to the config file, wherever the command runs from.
  await writeFile(
    join(dir, 'modelship.yaml'),
    `version: 1
registries:
  local:
    type: local
    root: ./models
models:
  addone:
    ref: ./addone.onnx
    workers: 1
deployments:
  digits:
    registry: local
    stable: digits@production
    canary: { ref: digits@candidate, weight: 0.5 }
    modelOptions: { workers: 1 }
server:
  port: 0
  host: 127.0.0.1
  adminTokenFile: ./admin-token
telemetry:
  metrics: true
`,
  );
  const server = await startCli(['serve', '--config', join(dir, 'modelship.yaml')], {
    cwd: process.cwd(),
    ready: /listening on (http:\/\/\S+)/,
  });
  return { dir, server, url: server.match[1] as string };
}

/** Resolves when the process's output matches `pattern` (on its output events, not by polling). */
export function outputMatching(process: RunningProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!pattern.test(process.output())) return;
      process.child.stdout?.off('data', check);
      resolve();
    };
    process.child.stdout?.on('data', check);
    check();
  });
}

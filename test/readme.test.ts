import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const read = (p: string): Promise<string> => readFile(new URL(`../${p}`, import.meta.url), 'utf8');

describe('README quick start', () => {
  it('starts with the two commands a fresh clone needs, and CI runs the same test command', async () => {
    const readme = await read('README.md');
    const blocks = [...readme.matchAll(/```(?:sh|bash|shell)?\n([\s\S]*?)```/g)].map((m) => (m[1] as string).trim());
    expect(blocks.slice(0, 2)).toEqual(['npm install && npm run demo', 'npm test']);
    const ci = await read('.ci/run');
    const commands = ci.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    expect(commands.at(-1)?.trim()).toBe('npm test');
    expect(commands.some((l) => l.trim().startsWith('npm ci'))).toBe(true);
    const pkg = JSON.parse(await read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.demo).toBeDefined();
    expect(pkg.scripts.test).toContain('vitest run');
  });

  it("keeps onnxruntime-node's install script from downloading CUDA files, with no npm config warning", async () => {
    // npm 11.19+: dependency install scripts run only when package.json allowScripts allows them.
    const pkg = JSON.parse(await read('package.json')) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    // npm 10 runs them: there, onnxruntime-node reads ONNXRUNTIME_NODE_INSTALL=skip, which CI sets.
    expect(await read('.ci/run')).toMatch(/^export ONNXRUNTIME_NODE_INSTALL=skip$/m);
    // A project .npmrc key npm does not know (as `onnxruntime-node-install` was) warns on every npm command.
    const { stderr } = await run('npm', ['config', 'get', 'registry'], { cwd: root });
    expect(stderr).not.toMatch(/Unknown (project|env|user) config/);
  });
});

describe('docs/errors.md', () => {
  it('lists every error code with its HTTP status', async () => {
    const { ERROR_CODES } = await import('modelship');
    const doc = await read('docs/errors.md');
    for (const [code, { httpStatus }] of Object.entries(ERROR_CODES)) {
      expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${httpStatus} \\|`));
    }
  });
});

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

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

  it('ships the .npmrc that keeps onnxruntime-node from downloading CUDA files', async () => {
    expect(await read('.npmrc')).toMatch(/^onnxruntime-node-install=skip$/m);
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

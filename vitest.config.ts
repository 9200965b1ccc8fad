import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string): string => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^modelship$/, replacement: src('index.node.ts') },
      { find: /^modelship\/node$/, replacement: src('node.ts') },
      { find: /^modelship\/browser$/, replacement: src('browser.ts') },
      { find: /^modelship\/express$/, replacement: src('express.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});

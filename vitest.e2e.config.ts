import { defineConfig } from 'vitest/config';

// End-to-end tests in a real VS Code (code-server + headless Chromium): slow, so kept out of the
// main `vitest run`. Run with `npx vitest run -c vitest.e2e.config.ts` after
// scripts/install-code-server.sh. One file at a time: each starts its own code-server and browser.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});

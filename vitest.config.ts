import { defineConfig } from 'vitest/config';

// Each test file runs in its own process: the runtime calls setns/unshare on the calling
// thread, and kernel state (mounts, cgroups, links) is per test file, named by the file.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/event-loop-guard.ts'],
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

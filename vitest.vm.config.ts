import { defineConfig } from 'vitest/config';

// End-to-end tests in the lab VM (a real Debian 12 VM booted by `vagrant up`): the packaged
// extension in code-server + headless Chromium connects to it over SSH. They need the VM that
// scripts/vm-e2e.sh brings up (and the network namespace it runs them in), so they are run by that
// script, never by the plain `vitest run`: `sudo scripts/vm-e2e.sh`.
export default defineConfig({
  test: {
    include: ['test/vm-e2e/**/*.vm.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    // the VM runs under software emulation: everything in it is several times slower than here
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});

import { basename } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// End-to-end tests in the lab VM (a real Debian 12 VM booted by `vagrant up`): the packaged
// extension in code-server + headless Chromium connects to it over SSH. They need the VM that
// scripts/vm-e2e.sh brings up (and the network namespace it runs them in), so they are run by that
// script, never by the plain `vitest run`: `sudo scripts/vm-e2e.sh`.

/**
 * The files share one VM, and lab-command.vm.ts ends with "Stop Lab VM" → "Start Lab VM" →
 * "Destroy Lab VM": it must run last. Vitest's own order (slowest or largest file first) is not a
 * promise, so the order is written here.
 */
const ORDER = ['lab-vm.vm.ts', 'images-pods.vm.ts', 'lab-command.vm.ts'];

class VmFileOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const index = ORDER.indexOf(basename(file.moduleId));
      if (index < 0) throw new Error(`${file.moduleId}: add it to ORDER in vitest.vm.config.ts (the VM files run in a stated order)`);
      return index;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['test/vm-e2e/**/*.vm.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    sequence: { sequencer: VmFileOrder },
    // the VM runs under software emulation: everything in it is several times slower than here
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});

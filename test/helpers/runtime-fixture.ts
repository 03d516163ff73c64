/*
 * A runtime of a test file's own, on a fresh state root: opened before its tests, and after them
 * every container removed and the kernel asked whether anything it made is left (cgroups, mounts,
 * processes, links). `run` starts a container that idles, so a test can look at it from outside.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
import type { ContainerRecord, RunOptions } from '../../agent/protocol';
import type { ContainerRuntime } from '../../agent/runtime/api';
import { openRuntime } from '../../agent/runtime/runtime';
import { leftovers, NONE_LEFT } from './kernel-witness';

export interface RuntimeFixture {
  runtime(): ContainerRuntime;
  /** Runs `sleep 60` (unless options say otherwise) with no network, and remembers it for the leftover check. */
  run(options: RunOptions): Promise<ContainerRecord>;
}

export function useRuntime(label: string): RuntimeFixture {
  let stateRoot: string;
  let runtime: ContainerRuntime;
  const made: ContainerRecord[] = [];

  beforeAll(() => {
    stateRoot = mkdtempSync(`/tmp/cl-${label}-`);
    runtime = openRuntime({ stateRoot });
  });

  afterAll(async () => {
    for (const record of runtime.list()) await runtime.remove(record.id, true);
    expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
    runtime.close();
    rmSync(stateRoot, { recursive: true, force: true });
  });

  return {
    runtime: () => runtime,
    async run(options) {
      const record = await runtime.run({ net: 'none', args: ['sleep', '60'], ...options });
      made.push(record);
      return record;
    },
  };
}

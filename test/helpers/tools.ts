/*
 * Programs a test needs from the machine (vagrant, shellcheck, VBoxManage…). A missing one fails
 * the test under CI=true, naming the fix — CI installs them (scripts/setup-host.sh), so missing
 * means broken, never a silent pass — and is a visible skip on a developer's machine.
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    /** Why the test was skipped: scripts/test prints it beside the file in the run's summary. */
    skipReason?: string;
  }
}

/** Skips the test, saying why where the run's summary can read it (vitest's JSON keeps `meta`). */
export function skipBecause(context: Pick<TestContext, 'skip' | 'task'>, reason: string): void {
  context.task.meta.skipReason = reason;
  context.skip(reason);
}

/** Whether `tool` is found on `path` (default: this process's PATH). */
export function onPath(tool: string, path = process.env.PATH ?? ''): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env: { PATH: path } }).status === 0;
}

/** The `vagrant` tests' requirement: Debian's vagrant and vagrant-libvirt. */
export const VAGRANT_FIX = 'apt-get install vagrant vagrant-libvirt (scripts/setup-host.sh does)';

/** A test's guard: true when `tool` exists; otherwise a CI failure naming `fix`, or a local skip. */
export function needsTool(tool: string, fix: string): (context: Pick<TestContext, 'skip' | 'task'>) => boolean {
  return (context) => {
    if (onPath(tool)) return true;
    const reason = `"${tool}" is not installed: ${fix}`;
    if (process.env.CI === 'true') throw new Error(reason);
    console.warn(`skipped (local run): ${reason}`);
    skipBecause(context, reason);
    return false;
  };
}

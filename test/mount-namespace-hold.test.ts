/*
 * The agent holds each container's mount namespace while it runs (agent/runtime/process/
 * mount-namespace-hold.ts), so the namespace's teardown is not part of the container's exit.
 * What must hold, by the kernel's own account (/proc/<pid>/fd and /proc/<pid>/ns/mnt):
 *   - while a container runs, the agent has one descriptor for its mount namespace, at or above
 *     HELD_FD_MINIMUM; no child — the container itself, sandboxes made later — has a copy;
 *   - once the container has stopped, the agent lets go of it: no descriptor of this process
 *     refers to that namespace any more, and rm leaves nothing behind.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { Runtime } from '../agent/runtime/runtime';
import { HELD_FD_MINIMUM } from '../agent/runtime/process/mount-namespace-hold';
import { leftovers, NONE_LEFT, nsLink } from './helpers/kernel-witness';
import { waitFor } from './helpers/wait';

/** The descriptors of `pid` that refer to namespace `link` (e.g. "mnt:[4026532…]"). */
function descriptorsFor(pid: number | 'self', link: string): number[] {
  return readdirSync(`/proc/${pid}/fd`).map(Number).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === link;
    } catch {
      return false; // closed while we looked
    }
  });
}

const highDescriptors = (pid: number): number[] => readdirSync(`/proc/${pid}/fd`).map(Number).filter((fd) => fd >= HELD_FD_MINIMUM);

describe('mount namespace holds', () => {
  const stateRoot = mkdtempSync('/tmp/cl-mnt-hold-test-');
  const runtime = new Runtime({ stateRoot, warmPool: 2 });
  const seen: { id: string; pid: number | null }[] = [];
  afterAll(() => {
    runtime.close();
    rmSync(stateRoot, { recursive: true, force: true });
  });

  test('a running container\'s namespace is held by the agent alone; after it stops, by nobody', async () => {
    const record = await runtime.run({ name: 'hold-sleeper', net: 'none', args: ['sleep', '300'] });
    seen.push({ id: record.id, pid: record.pid });
    const pid = record.pid!;
    const namespace = nsLink(pid, 'mnt');
    expect(namespace).not.toBe(nsLink('self', 'mnt'));

    const held = descriptorsFor('self', namespace);
    expect(held).toHaveLength(1);
    expect(held[0]).toBeGreaterThanOrEqual(HELD_FD_MINIMUM);
    // The container got no copy of any hold (its own descriptors: stdio only).
    expect(highDescriptors(pid)).toEqual([]);

    // Sandboxes the pool makes from now on are cloned while the hold is open: they must have dropped it.
    const before = runtime.warmPoolSandboxes().map((sandbox) => sandbox.id);
    const refilled = await waitFor(
      () => runtime.warmPoolSandboxes(),
      (sandboxes) => sandboxes.length === 2 && sandboxes.some((sandbox) => !before.includes(sandbox.id)),
      15_000,
    );
    expect(refilled.some((sandbox) => !before.includes(sandbox.id))).toBe(true);
    for (const sandbox of refilled) {
      expect(highDescriptors(sandbox.pid), `sandbox ${sandbox.pid}`).toEqual([]);
      expect(descriptorsFor(sandbox.pid, namespace), `sandbox ${sandbox.pid}`).toEqual([]);
    }

    await runtime.stop(record.id, 0);
    expect(runtime.inspect(record.id).status).toBe('stopped');
    expect(await waitFor(() => descriptorsFor('self', namespace), (fds) => fds.length === 0, 5_000)).toEqual([]);
    await runtime.remove(record.id);
    expect(leftovers(stateRoot, seen)).toEqual(NONE_LEFT);
  });

  test('a container that exits at once (/bin/true) is reported stopped and its namespace let go', async () => {
    const stopped = new Set<string>();
    runtime.events.on('container.changed', ({ id, status }) => {
      if (status === 'stopped') stopped.add(id);
    });
    const record = await runtime.run({ name: 'hold-true', net: 'none', args: ['/bin/true'] });
    seen.push({ id: record.id, pid: record.pid });
    expect(await waitFor(() => stopped.has(record.id), (done) => done, 5_000)).toBe(true);
    expect(runtime.inspect(record.id)).toMatchObject({ status: 'stopped', exitCode: 0 });
    // What the agent still holds (readlink of each high descriptor) may only be waiting sandboxes' namespaces.
    const foreignHolds = (): string[] => {
      const sandboxNamespaces = runtime.warmPoolSandboxes().map((sandbox) => nsLink(sandbox.pid, 'mnt'));
      return highDescriptors(process.pid).flatMap((fd) => {
        try {
          const link = readlinkSync(`/proc/self/fd/${fd}`);
          return link.startsWith('mnt:') && !sandboxNamespaces.includes(link) ? [link] : [];
        } catch {
          return []; // closed while we looked
        }
      });
    };
    expect(await waitFor(foreignHolds, (links) => links.length === 0, 5_000)).toEqual([]);
    await runtime.remove(record.id);
    expect(leftovers(stateRoot, seen)).toEqual(NONE_LEFT);
  });
});

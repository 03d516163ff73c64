/*
 * Where the kernel cannot idmap a layer, a user-namespaced container gets a copy of the image
 * shifted into its ID range (<image>-shifted-<host id>, see agent/runtime/shifted-layers.ts), made
 * once its namespace exists. This file forces that path (CONTAINERS_LAB_IDMAPPED_LAYERS=off;
 * test/image-userns.test.ts runs both). A create that then fails — its config refused by the agent (no gid mappings, a memory limit too
 * small for a cgroup) or by the kernel (overlapping uid ranges) — must take that copy with it, and
 * everything else it made: the state root holds no rootfs-shifted-* and no container afterwards.
 * A copy that a living container uses stays.
 *
 * Containers use --net none; the state root is /tmp/cl-userns-refused-*, removed at the end.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import type { OciSpec } from '../agent/protocol';
import { configFromRunOptions } from '../agent/oci/from-run-options';
import { openRuntime } from '../agent/runtime/runtime';
import { IDMAPPED_LAYERS_SWITCH } from '../agent/runtime/userns-layers';
import { leftovers, NONE_LEFT } from './helpers/kernel-witness';

process.env[IDMAPPED_LAYERS_SWITCH] = 'off';

const root = mkdtempSync('/tmp/cl-userns-refused-');
const runtime = openRuntime({ stateRoot: root });
afterAll(async () => {
  // What a failed test left: removed through the runtime (processes, cgroups, directories).
  for (const container of runtime.list()) await runtime.remove(container.id, true);
  runtime.close();
  rmSync(root, { recursive: true, force: true });
});

const imageEntries = (): string[] => readdirSync(join(root, 'images', 'busybox'));
const shifted = (): string[] => imageEntries().filter((entry) => entry.includes('shifted'));

/** A user-namespaced document with these mappings (run's own, then changed). */
function withMappings(uid: { containerID: number; hostID: number; size: number }[], gid: typeof uid): OciSpec {
  const spec = configFromRunOptions({ userns: true, net: 'none' }, { rootfs: '/unused' });
  spec.linux!.uidMappings = uid;
  spec.linux!.gidMappings = gid;
  return spec;
}

test('refused user-namespace configs leave no shifted image copy and no container behind', async () => {
  const range = [{ containerID: 0, hostID: 233000, size: 65536 }];
  const tinyMemory = withMappings(range, range);
  tinyMemory.linux!.resources = { memory: { limit: 1 } };
  const refused: [string, Parameters<typeof runtime.run>[0], RegExp][] = [
    ['no gid mappings', { net: 'none', config: withMappings([{ containerID: 0, hostID: 231000, size: 65536 }], []) }, /needs gid mappings|not mapped by linux\.gidMappings/],
    ['overlapping uid ranges (the kernel refuses)', {
      net: 'none',
      config: withMappings([{ containerID: 0, hostID: 232000, size: 100 }, { containerID: 50, hostID: 242000, size: 100 }], [{ containerID: 0, hostID: 232000, size: 100 }]),
    }, /EINVAL/],
    ['a memory limit below what a cgroup takes (refused after the copy was made)', { net: 'none', config: tinyMemory }, /too small/],
  ];
  for (const [what, options, why] of refused) {
    const outcome = await runtime.run(options).then(() => 'accepted', (error: Error) => error.message);
    expect(outcome, what).toMatch(why);
    expect({ what, shifted: shifted() }).toEqual({ what, shifted: [] });
    expect({ what, containers: readdirSync(join(root, 'containers')) }).toEqual({ what, containers: [] });
    expect(runtime.list()).toEqual([]);
  }
  expect(leftovers(root, [])).toEqual(NONE_LEFT);
});

test('a copy a container uses stays when another create with the same range fails', async () => {
  const record = await runtime.run({ name: 'mapped', userns: true, net: 'none' });
  expect(shifted()).toEqual(['rootfs-shifted-100000']);
  const refused = withMappings([{ containerID: 0, hostID: 100000, size: 65536 }], []);
  const outcome = await runtime.run({ net: 'none', config: refused }).then(() => 'accepted', (error: Error) => error.message);
  expect(outcome).not.toBe('accepted');
  expect(shifted()).toEqual(['rootfs-shifted-100000']);
  await runtime.remove('mapped', true);
  // The last container on it is gone: so is the copy.
  expect(shifted()).toEqual([]);
  expect(leftovers(root, [record])).toEqual(NONE_LEFT);
});

/*
 * User-namespaced containers of an image stand on its layers without copying them per container,
 * both ways the runtime knows (agent/runtime/userns-layers.ts):
 *   - idmapped (the default where the kernel allows it, as this one does): the layer directories
 *     are the store's own, unchanged on disk (owned by host 0), yet the container sees them owned
 *     by its root; files it writes land in its upper owned by host IDs of its range;
 *   - shifted (CONTAINERS_LAB_IDMAPPED_LAYERS=off): one copy per (layer, mapping) on disk, owned by
 *     host 100000, shared by both containers and collected once neither stands on it.
 * Witnesses: stat(2) of the files on disk and through /proc/PID/root, the container's own `stat`,
 * /proc/PID/mountinfo's overlay lowerdir of each container, the layer folders' entries, and the
 * host's mount table after rm. The images are the run tests' (./helpers/runnable-images.ts),
 * imported from an OCI layout (no registry needed). State roots: /tmp/cl-image-userns-*.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord, RunOptions } from '../agent/protocol';
import { readMountinfoEntries } from '../agent/inspect/mountinfo';
import { busyboxImageStatus } from '../agent/runtime/image/busybox';
import { openRuntime } from '../agent/runtime/runtime';
import type { ContainerRuntime } from '../agent/runtime/api';
import { IDMAPPED_LAYERS_SWITCH } from '../agent/runtime/userns-layers';
import { execCollect } from './helpers/exec';
import { hostMountsMentioning, leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { buildRunnableImages } from './helpers/runnable-images';

const HOST_ROOT = 100000;
let scratch: string;
let layoutDir: string;

beforeAll(() => {
  scratch = mkdtempSync('/tmp/cl-image-userns-src-');
  layoutDir = buildRunnableImages(scratch, { tall: false }).layout.dir;
});
afterAll(() => {
  delete process.env[IDMAPPED_LAYERS_SWITCH];
  rmSync(scratch, { recursive: true, force: true });
});

/** The overlay's lower directories as the kernel mounted them for this process's root. */
function mountedLowers(pid: number): string[] {
  const overlay = readMountinfoEntries(pid).find((entry) => entry.fstype === 'overlay' && entry.target === '/');
  const lowerdir = /(?:^|,)lowerdir=([^,]+)/.exec(overlay?.superOptions ?? '')?.[1];
  if (!lowerdir) throw new Error(`no overlay root in /proc/${pid}/mountinfo`);
  return lowerdir.split(':');
}

const shiftedIn = (folder: string): string[] => readdirSync(folder).filter((entry) => entry.includes('-shifted-')).sort();

describe.each([
  { how: 'idmapped', switch: undefined },
  { how: 'shifted', switch: 'off' },
] as const)('--userns with an image: $how layers', ({ how, switch: setting }) => {
  let stateRoot: string;
  let runtime: ContainerRuntime;
  const made: ContainerRecord[] = [];
  let layersFolder: string;
  let storeLayers: string[];
  /** What the layers folder held after the import (every imported image's layers). */
  let unpacked: string[];
  const listed = (): string[] => readdirSync(layersFolder).filter((entry) => !entry.startsWith('.')).sort();

  beforeAll(async () => {
    if (setting) process.env[IDMAPPED_LAYERS_SWITCH] = setting;
    else delete process.env[IDMAPPED_LAYERS_SWITCH];
    stateRoot = mkdtempSync('/tmp/cl-image-userns-');
    runtime = openRuntime({ stateRoot });
    await runtime.images.import(layoutDir, 'lab/userns');
    layersFolder = join(stateRoot, 'images', 'layers');
    storeLayers = runtime.images.inspect('lab/userns:app').layers.map((layer) => layer.directory).reverse();
    unpacked = listed();
  }, 60_000);

  afterAll(async () => {
    for (const record of runtime.list()) await runtime.remove(record.id, true);
    expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
    runtime.close();
    rmSync(stateRoot, { recursive: true, force: true });
  }, 60_000);

  async function run(options: RunOptions): Promise<ContainerRecord> {
    const record = await runtime.run({ image: 'lab/userns:app', net: 'none', userns: true, entrypoint: ['/bin/sleep'], args: ['60'], user: 'root', ...options });
    made.push(record);
    return record;
  }

  test('the container sees its image owned by its root; the files on disk and its writes say which host IDs', async () => {
    const record = await run({ name: `${how}-one` });
    const pid = record.pid!;
    expect(record.config.linux?.uidMappings).toEqual([{ containerID: 0, hostID: HOST_ROOT, size: 65536 }]);
    const inside = await execCollect(runtime, record.id, ['/bin/sh', '-c', 'stat -c "%u %g" /bin/busybox /opt/app/new.txt; id -u']);
    expect(inside.stdout).toBe('0 0\n0 0\n0\n');
    // The measurement (an overlay over an idmapped clone, in the container's mount namespace) left nothing.
    expect(hostMountsMentioning('idmap-probe')).toEqual([]);
    expect(existsSync(join(stateRoot, 'containers', record.id, 'idmap-probe'))).toBe(false);
    // The host looks through the container's root: the same files belong to host 100000 there.
    expect(statSync(`/proc/${pid}/root/bin/busybox`).uid).toBe(HOST_ROOT);
    const lowers = mountedLowers(pid);
    if (how === 'idmapped') {
      // The store's own directories, unchanged on disk (owned by host root), and no copy anywhere.
      expect(lowers).toEqual(storeLayers);
      expect(statSync(join(storeLayers[storeLayers.length - 1]!, 'bin', 'busybox')).uid).toBe(0);
      expect(shiftedIn(layersFolder)).toEqual([]);
    } else {
      expect(lowers).toEqual(storeLayers.map((layer) => `${layer}-shifted-${HOST_ROOT}`));
      expect(statSync(join(lowers[lowers.length - 1]!, 'bin', 'busybox')).uid).toBe(HOST_ROOT);
      expect(statSync(join(storeLayers[storeLayers.length - 1]!, 'bin', 'busybox')).uid).toBe(0);
    }
    // Writes: a copy-up by root and a new file by the image's user (1234) land in upper, shifted.
    const wrote = await execCollect(runtime, record.id, ['/bin/sh', '-c', 'echo more >> /opt/app/new.txt && su -s /bin/sh app -c "echo hi > /home/app/mine" 2>/dev/null || (chown 1234:2345 /home/app && echo hi > /home/app/mine && chown 1234:2345 /home/app/mine); stat -c "%u" /opt/app/new.txt /home/app/mine']);
    expect(wrote.stdout).toBe('0\n1234\n');
    const upper = record.rootfs!.upper;
    expect(statSync(join(upper, 'opt/app/new.txt')).uid).toBe(HOST_ROOT);
    expect(statSync(join(upper, 'home/app/mine')).uid).toBe(HOST_ROOT + 1234);
    expect(statSync(join(upper, 'home/app/mine')).gid).toBe(HOST_ROOT + 2345);
  });

  test('two containers of the image stand on one set of lower directories, each with its own upper', async () => {
    const first = runtime.inspect(`${how}-one`);
    const second = await run({ name: `${how}-two` });
    expect(mountedLowers(second.pid!)).toEqual(mountedLowers(first.pid!));
    expect(second.rootfs!.upper).not.toBe(first.rootfs!.upper);
    // One copy per layer at most: the second container made none of its own.
    expect(shiftedIn(layersFolder)).toEqual(how === 'idmapped' ? [] : storeLayers.map((layer) => `${layer.slice(layersFolder.length + 1)}-shifted-${HOST_ROOT}`).sort());
    // The first one's writes are in its own upper: the second sees the image's file.
    const seen = await execCollect(runtime, second.id, ['/bin/cat', '/opt/app/new.txt']);
    expect(seen.stdout).toBe('new\n');
  });

  test('rm leaves nothing: no mount on the host, and shifted copies go with the last container on them', async () => {
    await runtime.remove(`${how}-one`, true);
    if (how === 'shifted') expect(shiftedIn(layersFolder)).toHaveLength(storeLayers.length);
    await runtime.remove(`${how}-two`, true);
    expect(shiftedIn(layersFolder)).toEqual([]);
    expect(hostMountsMentioning(stateRoot)).toEqual([]);
    expect(hostMountsMentioning('idmapped').filter((line) => line.includes(stateRoot))).toEqual([]);
    // The image's own layers stay, as they were.
    expect(listed()).toEqual(unpacked);
  });

  test('busybox takes the same path', async () => {
    const record = await runtime.run({ name: `${how}-busybox`, net: 'none', userns: true });
    made.push(record);
    const busyboxFolder = join(busyboxImageStatus(stateRoot).path, '..');
    const inside = await execCollect(runtime, record.id, ['sh', '-c', 'stat -c "%u" /bin/busybox']);
    expect(inside.stdout).toBe('0\n');
    expect(shiftedIn(busyboxFolder)).toHaveLength(how === 'idmapped' ? 0 : 1);
    await runtime.remove(record.id, true);
    expect(shiftedIn(busyboxFolder)).toEqual([]);
  });
});

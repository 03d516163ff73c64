/*
 * The lower layers of a user-namespaced container: idmapped where the kernel allows, else shifted copies.
 *
 * An image's layers are shared by every container of the image, and they are owned by the IDs
 * the image was built with (root is host 0). A container whose namespace maps its 0 to host
 * 100000 must see them owned by its own root, without copying the image for every container:
 *   - idmapped: inside the container's mount namespace, each layer directory is covered by an
 *     idmapped mount of itself (../kernel/idmapped-mounts.ts) made with the container's own user
 *     namespace, and the overlay is mounted over those. Nothing on disk changes; every container
 *     of the image names the same lower directories; overlayfs copies a file up owned as the
 *     container sees it (host 100000 for its root), so the upper is right too;
 *   - shifted: a copy per (layer, mapping), made once and shared (./shifted-layers.ts).
 * Whether the kernel allows the first is measured, not assumed, once per filesystem: the agent
 * clones a layer's mount and idmaps the detached clone with the container's namespace (ENOSYS
 * before Linux 5.12, EINVAL on a filesystem without idmap support), then — inside the container's
 * own mount namespace, made private first, so the host never sees it — attaches the clone at a
 * scratch directory of the container and mounts an overlay over it (overlayfs takes idmapped lower
 * layers from Linux 5.19 on), and unmounts both. Measured on this project's machines: Linux 6.18 and
 * the Debian 12 VM's 6.1, ext4: both allowed. CONTAINERS_LAB_IDMAPPED_LAYERS=off forces the copies
 * (tests run both ways).
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { closeFd, openFile } from '../kernel/files';
import { MNT_DETACH, MS_PRIVATE, MS_REC, O_RDONLY } from '../kernel/constants';
import { KernelError } from '../kernel/errors';
import { attachMount, idmapMount, mountIdmapped, openTreeClone } from '../kernel/idmapped-mounts';
import { mount, umount } from '../kernel/mounts';
import { insideNamespaces } from './namespaces';
import { type IdMappings, shiftedLayer, shiftedPath } from './shifted-layers';

export const IDMAPPED_LAYERS_SWITCH = 'CONTAINERS_LAB_IDMAPPED_LAYERS';

/** How a user-namespaced container stands on its layers. */
export type UsernsLayers =
  | { how: 'idmapped'; lower: string[]; usernsFd: number }
  /** `make` makes (or finds) the copies: call it once the record names them (see ./shifted-layers.ts). */
  | { how: 'shifted'; lower: string[]; make: () => void };

/** Filesystems (by st_dev) measured to allow idmapped mounts: true or false, once per agent. */
const measured = new Map<number, boolean>();

/**
 * The lowers for a container whose first process `pid` is in a user namespace with `mappings`
 * (written already) and in its own mount namespace; `scratch` is a directory of the container's
 * the measurement may use. The caller closes `usernsFd` (releaseUsernsLayers) once the overlay is mounted.
 */
export function usernsLayers(lower: readonly string[], pid: number, mappings: IdMappings, scratch: string): UsernsLayers {
  if (process.env[IDMAPPED_LAYERS_SWITCH] !== 'off') {
    const usernsFd = openFile(`/proc/${pid}/ns/user`, O_RDONLY);
    if (lower.every((layer) => idmappedMountsAllowed(layer, usernsFd, pid, scratch))) return { how: 'idmapped', lower: [...lower], usernsFd };
    closeFd(usernsFd);
  }
  return {
    how: 'shifted',
    lower: lower.map((layer) => shiftedPath(layer, mappings)),
    make: () => lower.forEach((layer) => shiftedLayer(layer, mappings)),
  };
}

export function releaseUsernsLayers(layers: UsernsLayers | null): void {
  if (layers?.how === 'idmapped') closeFd(layers.usernsFd);
}

/**
 * Inside the container's mount namespace (its mounts private), before the overlay: every lower
 * directory covered by an idmapped mount of itself. They leave with the old root at pivot_root;
 * the overlay keeps its own references.
 */
export function idmapLowers(layers: UsernsLayers | null): void {
  if (layers?.how !== 'idmapped') return;
  for (const layer of layers.lower) mountIdmapped(layer, layer, layers.usernsFd);
}

/** The measurement (see the top of this file); its answer holds for every layer of the filesystem. */
function idmappedMountsAllowed(layer: string, usernsFd: number, pid: number, scratch: string): boolean {
  // Every layer of one store sits on one filesystem; the key is the folder's device.
  const device = statSync(dirname(layer)).dev;
  const known = measured.get(device);
  if (known !== undefined) return known;
  let allowed: boolean;
  let fd = -1;
  try {
    fd = openTreeClone(layer);
    idmapMount(fd, usernsFd, layer);
    overlayOverIdmapped(fd, pid, scratch);
    allowed = true;
  } catch (error) {
    if (!(error instanceof KernelError)) throw error;
    allowed = false; // ENOSYS (no new mount API), EINVAL (no idmap support, or overlayfs refuses such a lower), EPERM
  } finally {
    if (fd >= 0) closeFd(fd);
    rmSync(scratch, { recursive: true, force: true });
  }
  measured.set(device, allowed);
  return allowed;
}

/** An overlay over the idmapped clone `mountFd`, mounted and unmounted inside the container's mount namespace. */
function overlayOverIdmapped(mountFd: number, pid: number, scratch: string): void {
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((name) => join(scratch, name)) as [string, string, string, string];
  for (const directory of [lower, upper, work, merged]) mkdirSync(directory, { recursive: true, mode: 0o700 });
  insideNamespaces(pid, ['mnt'], () => {
    // Nothing propagates to the host from here on (assembleRootfs does the same next).
    mount(null, '/', null, MS_REC | MS_PRIVATE);
    attachMount(mountFd, lower);
    try {
      mount('overlay', merged, 'overlay', 0, `lowerdir=${lower},upperdir=${upper},workdir=${work}`);
      umount(merged, MNT_DETACH);
    } finally {
      umount(lower, MNT_DETACH);
    }
  });
}

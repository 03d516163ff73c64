/*
 * Overlay filesystem: many containers, one image, copy-on-write.
 *
 * overlayfs stacks directories. The read-only "lower" layers hold the image; each container gets
 * its own writable "upper" directory and a "work" directory the kernel needs for atomic
 * renames. The "merged" mount shows upper over lower: reading finds a file in the topmost layer
 * that has it; writing to a lower file first copies it up into upper ("copy-up"); deleting
 * leaves a "whiteout" in upper. So the image is never modified and a container's changes are
 * exactly the contents of its upper directory.
 *
 * The overlay is mounted inside the container's own mount namespace, so the host's mount table
 * never shows it and it disappears with the container's last process.
 */
import { chownSync, copyFileSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, chmodSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RootfsRecord } from '../protocol';
import { mount } from '../kernel/mounts';
import { O_DIRECTORY, O_RDONLY } from '../kernel/constants';
import { chdir, closeFd, fchdir, openFile } from '../kernel/files';

export function layersFor(containerDir: string, lower: readonly string[]): RootfsRecord {
  return { lower: [...lower], upper: join(containerDir, 'upper'), work: join(containerDir, 'work'), merged: join(containerDir, 'merged') };
}

/** Creates upper, work and merged; upper is owned by container root (a host uid under a user namespace). */
export function createLayerDirectories(layers: RootfsRecord, rootOwner: number): void {
  for (const dir of [layers.upper, layers.work, layers.merged]) mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (rootOwner !== 0) chownSync(layers.upper, rootOwner, rootOwner);
}

export function overlayOptions(layers: RootfsRecord): string {
  // lowerdir lists the top layer first; ':' separates layers, so paths must not contain it.
  return `lowerdir=${layers.lower.join(':')},upperdir=${layers.upper},workdir=${layers.work}`;
}

/**
 * mount(2) hands the filesystem at most one page of option text, and the kernel refuses more
 * ("Mount options too large"): with absolute paths of ~100 characters, about 40 layers. Docker
 * images may have up to 125.
 */
export const MOUNT_DATA_LIMIT = 4000;

/**
 * Mounts the overlay at `layers.merged`; call from inside the container's mount namespace, on a
 * thread that owns its working directory (../runtime/namespaces.ts insideNamespaces does both).
 *
 * When the absolute lowerdir list would not fit in a page, the layers — one directory of the
 * image store, all of them — are named relative to it, from inside it, as Docker's overlay2
 * driver does: overlayfs resolves the names when mounting, against this thread's working
 * directory, which is put back after.
 */
export function mountOverlay(layers: RootfsRecord): void {
  const options = overlayOptions(layers);
  if (options.length <= MOUNT_DATA_LIMIT) {
    mount('overlay', layers.merged, 'overlay', 0, options);
    return;
  }
  const parent = dirname(layers.lower[0] ?? '');
  if (!layers.lower.every((layer) => dirname(layer) === parent)) {
    throw new Error(`the overlay's ${layers.lower.length} lower layers are too many for one mount (${options.length} characters of options; at most ${MOUNT_DATA_LIMIT})`);
  }
  const short = `lowerdir=${layers.lower.map((layer) => basename(layer)).join(':')},upperdir=${layers.upper},workdir=${layers.work}`;
  if (short.length > MOUNT_DATA_LIMIT) throw new Error(`the image has ${layers.lower.length} layers: too many for one overlay mount (at most about ${Math.floor(MOUNT_DATA_LIMIT / 66)})`);
  const home = openFile('.', O_RDONLY | O_DIRECTORY);
  try {
    chdir(parent);
    mount('overlay', layers.merged, 'overlay', 0, short);
  } finally {
    fchdir(home);
    closeFd(home);
  }
}

/** Which layer a path in the container comes from: its upper dir (written or copied up) or a lower one. */
export function layerOf(layers: RootfsRecord, pathInContainer: string): { layer: 'upper' | 'lower'; directory: string } | null {
  const candidates: { layer: 'upper' | 'lower'; directory: string }[] = [
    { layer: 'upper', directory: layers.upper },
    ...layers.lower.map((directory) => ({ layer: 'lower' as const, directory })),
  ];
  for (const candidate of candidates) {
    try {
      const stat = lstatSync(join(candidate.directory, pathInContainer));
      // a character device 0:0 in upper is a whiteout: the file was deleted in the container
      if (candidate.layer === 'upper' && stat.isCharacterDevice() && stat.rdev === 0) return null;
      return candidate;
    } catch {
      // not in this layer
    }
  }
  return null;
}

/**
 * A copy of a layer with every owner shifted by `hostId` (uid 0 → hostId), so that a user
 * namespace mapping 0 → hostId sees its files as owned by root. Built once per host range.
 */
export function shiftedLayer(layer: string, hostId: number): string {
  const target = `${layer}-shifted-${hostId}`;
  if (existsSync(target)) return target;
  const building = `${target}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  try {
    copyShifted(layer, building, hostId);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    throw error;
  }
  try {
    renameSync(building, target);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(target)) throw error;
  }
  return target;
}

/**
 * Deletes the shifted copies of `layer` that none of the known `containers` stands on, and
 * half-built ones. For failure paths: a create that made a copy and then failed (a user-namespace
 * config the kernel or the agent refused) must not leave a copy of the whole image behind. Copies
 * that containers stand on stay, so the next container of their range is quick to make.
 */
export function removeUnusedShiftedLayers(layer: string, containers: Iterable<{ rootfs: RootfsRecord | null }>): void {
  const inUse = new Set([...containers].flatMap((container) => container.rootfs?.lower ?? []));
  const prefix = `${basename(layer)}-shifted-`;
  let entries: string[];
  try {
    entries = readdirSync(dirname(layer));
  } catch {
    return;
  }
  for (const entry of entries.filter((name) => name.startsWith(prefix))) {
    const path = join(dirname(layer), entry);
    if (!inUse.has(path)) rmSync(path, { recursive: true, force: true });
  }
}

function copyShifted(source: string, target: string, hostId: number): void {
  const stat = lstatSync(source);
  if (stat.isSymbolicLink()) {
    symlinkSync(readlinkSync(source), target);
  } else if (stat.isDirectory()) {
    mkdirSync(target);
    for (const entry of readdirSync(source)) copyShifted(join(source, entry), join(target, entry), hostId);
    chmodSync(target, stat.mode & 0o7777);
  } else {
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, target);
    chmodSync(target, stat.mode & 0o7777);
  }
  lchownSync(target, stat.uid + hostId, stat.gid + hostId);
}

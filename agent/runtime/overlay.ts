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
import { chownSync, lstatSync, mkdirSync } from 'node:fs';
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

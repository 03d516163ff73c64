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
import { dirname, join } from 'node:path';
import type { RootfsRecord } from '../protocol';
import { mount } from '../kernel/mounts';

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

/** Mounts the overlay at `layers.merged`; call from inside the container's mount namespace. */
export function mountOverlay(layers: RootfsRecord): void {
  mount('overlay', layers.merged, 'overlay', 0, overlayOptions(layers));
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
  copyShifted(layer, building, hostId);
  try {
    renameSync(building, target);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(target)) throw error;
  }
  return target;
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

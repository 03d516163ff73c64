/*
 * Which overlay layer a path in a container comes from.
 *
 * An overlay mount merges read-only lower directories (the image) under one writable upper
 * directory (this container's changes). Looking a path up, the kernel takes the upper copy when
 * there is one, else the first lower layer that has it. Writing to a file that only a lower layer
 * has first copies it up, whole, into the upper directory ("copy-up"); deleting one leaves a
 * whiteout in the upper directory — a character device numbered 0:0 — that hides the lower copy.
 * So the answer to "where does /etc/hostname come from?" can be read straight off the two
 * directories, without entering the container.
 */
import { lstatSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import type { PathLayer, RootfsRecord } from '../protocol';
import { badInput } from '../errors';

export function pathLayer(rootfs: RootfsRecord, path: string): PathLayer {
  const inside = containerPath(path);
  const upper = statWithin(rootfs.upper, inside);
  const lowers = rootfs.lower.map((dir) => statWithin(dir, inside));
  const lowerIndex = lowers.findIndex((stat) => stat !== null);
  const inLower = lowerIndex >= 0 ? (lowers[lowerIndex] as Stats) : null;
  const base = { path: inside, upperPath: join(rootfs.upper, inside), lowerPath: lowerIndex >= 0 ? join(rootfs.lower[lowerIndex] as string, inside) : null };

  if (upper && isWhiteout(upper)) return { ...base, layer: 'deleted', inLower: inLower !== null, size: null };
  if (upper) return { ...base, layer: 'upper', copiedUp: inLower !== null && !upper.isDirectory(), inLower: inLower !== null, size: upper.size };
  if (inLower) return { ...base, layer: 'lower', lowerIndex, inLower: true, size: inLower.size };
  return { ...base, layer: 'absent', inLower: false, size: null };
}

/** An absolute path inside the container, normalised; ".." cannot climb above its root. */
function containerPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw badInput(`path must be absolute inside the container: ${String(path)}`);
  return posix.normalize(path);
}

/**
 * lstat of `path` under `layer`, refusing to follow a symlink on the way: a link in the image
 * points somewhere inside the container's view, not the host's, so following it here would
 * describe a host file.
 */
function statWithin(layer: string, path: string): Stats | null {
  let current = layer;
  const parts = path.split('/').filter(Boolean);
  for (const [index, part] of parts.entries()) {
    current = join(current, part);
    const stat = lstatOrNull(current);
    if (!stat) return null;
    const last = index === parts.length - 1;
    if (!last && (!stat.isDirectory() || isWhiteout(stat))) return null;
    if (last) return stat;
  }
  return lstatOrNull(layer);
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function isWhiteout(stat: Stats): boolean {
  return stat.isCharacterDevice() && stat.rdev === 0;
}

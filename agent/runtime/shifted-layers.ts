/*
 * Shifted layers: the fallback when the kernel cannot idmap a layer's mount.
 *
 * A user-namespaced container needs its image's files owned by IDs its namespace maps: a layer
 * owned by host root reads as "nobody" inside. Where idmapped mounts are refused (an old kernel,
 * a filesystem without FS_ALLOW_IDMAP, or CONTAINERS_LAB_IDMAPPED_LAYERS=off), the agent makes a
 * copy of each layer with every owner translated through the mapping — host uid = the mapping of
 * the uid in the layer — next to the layer itself: `<layer>-shifted-<key>`, the key naming the
 * uid and gid mappings. One copy serves every container of that (layer, mapping): a second
 * container of the same image and range finds it and stands on the same directory.
 *
 * The copy is `cp -a` (hard links, devices — overlayfs whiteouts are 0:0 character devices —
 * symlinks, modes, times and xattrs such as trusted.overlay.opaque kept), built under a
 * `.building-<pid>` name and renamed into place, then chowned entry by entry (each inode once:
 * hard links share one). chown(2) clears set-user-ID and set-group-ID bits, so modes are put back.
 *
 * Copies are collected when no container stands on them: a container's record lists its lower
 * directories, and a creating container writes that list before it makes or reuses a copy. The
 * collector renames a copy away first and reads the records again, so a copy claimed in between
 * is put back rather than deleted from under it.
 */
import { createHash, spawnSync } from '../lazy-builtins';
import { chmodSync, existsSync, lchownSync, lstatSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { OciIdMapping } from '../protocol';
import { hostIdFor } from './user-namespace';

export interface IdMappings {
  uid: readonly OciIdMapping[];
  gid: readonly OciIdMapping[];
}

const SHIFTED = /^(.*)-shifted-([a-z0-9]+)$/;

/** The name part that tells one (uid, gid) mapping from another: `100000` for the usual single range, else a hash. */
export function mappingKey(mappings: IdMappings): string {
  const [uid] = mappings.uid;
  const [gid] = mappings.gid;
  const simple = mappings.uid.length === 1 && mappings.gid.length === 1 && uid && gid
    && uid.containerID === 0 && gid.containerID === 0 && uid.hostID === gid.hostID && uid.size === 65536 && gid.size === 65536;
  if (simple) return String(uid.hostID);
  return createHash('sha256').update(JSON.stringify([mappings.uid, mappings.gid])).digest('hex').slice(0, 16);
}

export function shiftedPath(layer: string, mappings: IdMappings): string {
  return `${layer}-shifted-${mappingKey(mappings)}`;
}

/** The layer a (possibly) shifted directory was copied from: itself when it is no copy. */
export function baseLayerOf(directory: string): string {
  const match = SHIFTED.exec(basename(directory));
  return match ? join(dirname(directory), match[1]!) : directory;
}

export function isShiftedCopy(directory: string): boolean {
  return SHIFTED.test(basename(directory));
}

/** The shifted copy of `layer` for `mappings`: found, or made now (see the top of this file). */
export function shiftedLayer(layer: string, mappings: IdMappings): string {
  const target = shiftedPath(layer, mappings);
  if (existsSync(target)) return target;
  const building = `${dirname(target)}/.building-${basename(target)}-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  try {
    const copied = spawnSync('cp', ['-a', '--', layer, building], { encoding: 'utf8' });
    if (copied.error) throw copied.error;
    if (copied.status !== 0) throw new Error(`copying ${layer} for a user namespace failed: ${copied.stderr.trim().split('\n')[0] ?? `cp exited ${copied.status}`}`);
    shiftOwners(building, mappings, new Set());
    renameSync(building, target);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    // Another agent may have finished the same copy first: theirs serves.
    if (!existsSync(target)) throw error;
  }
  return target;
}

function shiftOwners(path: string, mappings: IdMappings, seen: Set<number>): void {
  const stat = lstatSync(path);
  if (!seen.has(stat.ino)) {
    seen.add(stat.ino);
    // An ID the mapping lacks keeps its number: inside it reads as the overflow ID ("nobody").
    lchownSync(path, hostIdFor(mappings.uid, stat.uid) ?? stat.uid, hostIdFor(mappings.gid, stat.gid) ?? stat.gid);
    if (!stat.isSymbolicLink() && (stat.mode & 0o6000) !== 0) chmodSync(path, stat.mode & 0o7777);
  }
  if (stat.isDirectory()) for (const entry of readdirSync(path)) shiftOwners(join(path, entry), mappings, seen);
}

/**
 * Deletes the shifted copies in `directories` (the folders layers live in) that no container
 * stands on, and copies half-built by agents that are gone. `inUse` reads every container's lower
 * directories fresh (from the records on disk); it is asked again before a copy is deleted.
 */
export function collectShiftedLayers(directories: Iterable<string>, inUse: () => Iterable<string>): string[] {
  const removed: string[] = [];
  let used = new Set(inUse());
  for (const directory of new Set(directories)) {
    let entries: string[];
    try {
      entries = readdirSync(directory);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const path = join(directory, entry);
      const building = /^\.(?:building|removing)-.*-shifted-[a-z0-9]+-(\d+)$/.exec(entry);
      if (building) {
        if (!existsSync(`/proc/${building[1]}`)) rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (!SHIFTED.test(entry) || used.has(path)) continue;
      const doomed = join(directory, `.removing-${entry}-${process.pid}`);
      try {
        renameSync(path, doomed);
      } catch {
        continue;
      }
      used = new Set(inUse());
      if (used.has(path)) {
        // Claimed while we looked: put it back (or, if its claimant already made another, drop ours).
        try {
          renameSync(doomed, path);
          continue;
        } catch {
          // fall through
        }
      }
      rmSync(doomed, { recursive: true, force: true });
      removed.push(path);
    }
  }
  return removed;
}

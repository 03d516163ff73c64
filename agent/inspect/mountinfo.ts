/*
 * /proc/<pid>/mountinfo: the kernel's list of the mounts a process can see.
 *
 * Mounts belong to a mount namespace, so two processes can see entirely different trees: a
 * container's `/` is an overlay while the host's is a disk. /proc/<pid>/mountinfo shows the tree
 * of that process's mount namespace, one line per mount:
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2) (3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
 *
 *  1 mount ID              2 parent's mount ID     3 device major:minor
 *  4 root: the directory of the filesystem mounted here (not "/" for bind mounts)
 *  5 mount point           6 per-mount options (this mount only: ro, nosuid, relatime, …)
 *  7 optional fields, zero or more ("shared:1", "master:1": mount propagation)
 *  8 a lone "-" ending the optional fields
 *  9 filesystem type       10 source ("/dev/vda", "overlay", "proc")
 * 11 super options: options of the filesystem itself, shared by all its mounts (lowerdir=…)
 *
 * Paths containing space, tab, newline or backslash are written as octal escapes (\040, \011,
 * \012, \134), so fields can be split on spaces and decoded afterwards.
 */
import fs from 'node:fs';
import { notFound } from '../errors';
import type { MountRecord } from '../protocol';

/** Every field of one mountinfo line. */
export interface MountinfoEntry extends MountRecord {
  /** "major:minor" of the device holding the filesystem. */
  device: string;
  /** Options of this mount only (field 6). */
  mountOptions: string;
  /** Propagation tags such as "shared:1", "master:2" (field 7). */
  optionalFields: string[];
  /** Options of the filesystem (field 11). */
  superOptions: string;
}

/** Undoes the kernel's octal escaping of space, tab, newline and backslash. */
export function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/* One option string as findmnt prints it: the mount's options, then the filesystem's, leaving
 * out the filesystem's own rw/ro (the mount's rw/ro is what applies to this mount). */
function mergeOptions(mountOptions: string, superOptions: string): string {
  const extra = superOptions.split(',').filter((option) => option !== '' && option !== 'rw' && option !== 'ro');
  return [mountOptions, ...extra].filter((part) => part !== '').join(',');
}

/** Parses mountinfo text; malformed lines (none from a real kernel) are skipped. */
export function parseMountinfo(text: string): MountinfoEntry[] {
  const entries: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 3) continue;
    const mountOptions = fields[5]!;
    const superOptions = fields[separator + 3] ?? '';
    entries.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      device: fields[2]!,
      root: unescapeMountinfo(fields[3]!),
      target: unescapeMountinfo(fields[4]!),
      mountOptions,
      optionalFields: fields.slice(6, separator),
      fstype: unescapeMountinfo(fields[separator + 1]!),
      source: unescapeMountinfo(fields[separator + 2]!),
      superOptions,
      options: mergeOptions(mountOptions, superOptions),
    });
  }
  return entries;
}

function readText(pid: number | 'self'): string {
  try {
    return fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') {
      throw notFound(`process ${pid} not found`);
    }
    throw error;
  }
}

/** Every field of every mount the process sees (for cgroup discovery, overlay layers, …). */
export function readMountinfoEntries(pid: number | 'self'): MountinfoEntry[] {
  return parseMountinfo(readText(pid));
}

/** The mounts the process sees, in the shape of the container record. */
export function readMountinfo(pid: number | 'self'): MountRecord[] {
  return readMountinfoEntries(pid).map(({ mountId, parentId, source, target, fstype, options, root }) => ({
    mountId,
    parentId,
    source,
    target,
    fstype,
    options,
    root,
  }));
}

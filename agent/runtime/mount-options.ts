/*
 * OCI mount options are the words you would give mount(8): "nosuid", "ro", "mode=755".
 * mount(2) wants them split in two: flag bits the VFS understands (MS_NOSUID, MS_RDONLY, …) and
 * a data string the filesystem itself parses ("mode=755,size=65536k").
 */
import {
  MS_BIND,
  MS_DIRSYNC,
  MS_LAZYTIME,
  MS_MANDLOCK,
  MS_NOATIME,
  MS_NODEV,
  MS_NODIRATIME,
  MS_NOEXEC,
  MS_NOSUID,
  MS_NOSYMFOLLOW,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_SHARED,
  MS_SLAVE,
  MS_STRICTATIME,
  MS_SYNCHRONOUS,
  MS_UNBINDABLE,
} from '../kernel/constants';

const FLAGS: Record<string, { set?: number; clear?: number }> = {
  ro: { set: MS_RDONLY },
  rw: { clear: MS_RDONLY },
  nosuid: { set: MS_NOSUID },
  suid: { clear: MS_NOSUID },
  nodev: { set: MS_NODEV },
  dev: { clear: MS_NODEV },
  noexec: { set: MS_NOEXEC },
  exec: { clear: MS_NOEXEC },
  noatime: { set: MS_NOATIME },
  atime: { clear: MS_NOATIME },
  nodiratime: { set: MS_NODIRATIME },
  diratime: { clear: MS_NODIRATIME },
  strictatime: { set: MS_STRICTATIME },
  nostrictatime: { clear: MS_STRICTATIME },
  relatime: {}, // the kernel's default
  sync: { set: MS_SYNCHRONOUS },
  async: { clear: MS_SYNCHRONOUS },
  dirsync: { set: MS_DIRSYNC },
  mand: { set: MS_MANDLOCK },
  nomand: { clear: MS_MANDLOCK },
  nosymfollow: { set: MS_NOSYMFOLLOW },
  symfollow: { clear: MS_NOSYMFOLLOW },
  lazytime: { set: MS_LAZYTIME },
  nolazytime: { clear: MS_LAZYTIME },
  defaults: {},
  bind: { set: MS_BIND },
  rbind: { set: MS_BIND | MS_REC },
};

/** The propagation words, as runc reads them in mount options and linux.rootfsPropagation ("r…": the mounts beneath too). */
export const PROPAGATIONS: Readonly<Record<string, number>> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
};

/** Every option word parseMountOptions turns into a flag or a propagation (the features document lists them). */
export function knownMountOptions(): string[] {
  return [...Object.keys(FLAGS), ...Object.keys(PROPAGATIONS)].sort();
}

export interface ParsedMountOptions {
  flags: number;
  data: string | null;
  propagation: number;
}

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const option of options) {
    const flag = FLAGS[option];
    if (flag) {
      flags = (flags | (flag.set ?? 0)) & ~(flag.clear ?? 0);
    } else if (PROPAGATIONS[option] !== undefined) {
      propagation |= PROPAGATIONS[option]!;
    } else {
      data.push(option);
    }
  }
  return { flags, data: data.length ? data.join(',') : null, propagation };
}

/*
 * OCI mount options are the words you would give mount(8): "nosuid", "ro", "mode=755".
 * mount(2) wants them split in two: flag bits the VFS understands (MS_NOSUID, MS_RDONLY, …) and
 * a data string the filesystem itself parses ("mode=755,size=65536k").
 */
import {
  MS_BIND,
  MS_NOATIME,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_SLAVE,
  MS_STRICTATIME,
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
  strictatime: { set: MS_STRICTATIME },
  relatime: {},
  bind: { set: MS_BIND },
  rbind: { set: MS_BIND | MS_REC },
};

const PROPAGATION: Record<string, number> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
};

/** Every option word parseMountOptions turns into a flag or a propagation (the features document lists them). */
export function knownMountOptions(): string[] {
  return [...Object.keys(FLAGS), ...Object.keys(PROPAGATION)].sort();
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
    } else if (PROPAGATION[option] !== undefined) {
      propagation |= PROPAGATION[option]!;
    } else {
      data.push(option);
    }
  }
  return { flags, data: data.length ? data.join(',') : null, propagation };
}

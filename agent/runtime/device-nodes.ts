/*
 * config.json's linux.devices: device files the document asks for in the container's /dev.
 *
 * A device file is only a name for a number: its type — c (character), b (block), p (a FIFO,
 * a named pipe), u (unbuffered character, the same as c) — and, for c and b, a major number (which
 * driver) and a minor number (which device of that driver). mknod(2) makes one; opening it
 * reaches the driver, if the container's device cgroup allows that type:major:minor
 * (./cgroups/device-rules.ts). So, as runc does, each node listed here also gets an "allow rwm"
 * rule after the document's own rules: a document that lists a device means to use it.
 *
 * The agent makes the nodes from outside, as host root, inside the container's mount namespace
 * before pivot_root: <root>/dev/… is then the container's own /dev (usually the tmpfs config.json
 * mounts there). A user-namespaced container could not mknod itself, but the agent, in the host's
 * user namespace, can; the owner is translated through the container's id mappings so that
 * `ls -l` inside shows the uid and gid the document asked for.
 *
 * Only what the document asks: a path below /dev (nothing climbs out through ".." or a symlink,
 * since every directory on the way is checked with lstat), an existing file is left alone only
 * when it is the very same device (the runtime's /dev/null, …), and the mode is permission bits
 * only (no setuid/setgid/sticky). The agent's own `containers-lab run` never writes linux.devices.
 */
import { chmodSync, lchownSync, lstatSync, mkdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { S_IFBLK, S_IFCHR, S_IFIFO } from '../kernel/constants';
import { makeNode } from '../kernel/files';
import { hasErrno } from '../kernel/errors';
import { configFieldError } from '../oci/validate';
import type { OciLinuxDevice, OciSpec } from '../protocol';
import { hostIdFor } from './user-namespace';

/** A device number has 12 bits of major and 20 of minor (MAJOR/MINOR in <linux/kdev_t.h>). */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;
/** runc's mode for a node whose fileMode is left out. */
const DEFAULT_MODE = 0o666;
const FILE_TYPE: Record<string, number> = { c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO };

/** Throws one line naming the first entry of linux.devices this runtime would not make. */
export function checkDeviceNodes(spec: OciSpec, ownMountNamespace: boolean): void {
  const devices = spec.linux?.devices ?? [];
  if (devices.length > 0 && !ownMountNamespace) throw configFieldError(['linux', 'devices'], 'needs a mount namespace of the container\'s own: the nodes go into its /dev');
  const userns = (spec.linux?.namespaces ?? []).some((entry) => entry.type === 'user');
  devices.forEach((device, index) => {
    const at = (field?: string): (string | number)[] => ['linux', 'devices', index, ...(field ? [field] : [])];
    if (!(device.type in FILE_TYPE)) throw configFieldError(at('type'), `${JSON.stringify(device.type)}: use c, u (character), b (block) or p (FIFO)`);
    const segments = device.path.split('/');
    if (!device.path.startsWith('/dev/') || segments.some((segment) => segment === '..' || segment === '.') || device.path.endsWith('/')) {
      throw configFieldError(at('path'), `${JSON.stringify(device.path.slice(0, 60))} must be a file below /dev/ (no "." or "..")`);
    }
    if (device.type !== 'p') {
      for (const [field, max] of [['major', MAX_MAJOR], ['minor', MAX_MINOR]] as const) {
        const value = device[field];
        if (value === undefined) throw configFieldError(at(field), `is required for a ${device.type === 'b' ? 'block' : 'character'} device`);
        if (!Number.isInteger(value) || value < 0 || value > max) throw configFieldError(at(field), `${value} is not 0…${max}`);
      }
    }
    if (device.fileMode !== undefined && (device.fileMode & ~0o777) !== 0) {
      throw configFieldError(at('fileMode'), `${device.fileMode.toString(8)} (octal) has bits beyond the permissions rwxrwxrwx (0777)`);
    }
    if (userns) {
      if (hostIdFor(spec.linux?.uidMappings ?? [], device.uid ?? 0) === null) throw configFieldError(at('uid'), `${device.uid ?? 0} is not mapped by linux.uidMappings`);
      if (hostIdFor(spec.linux?.gidMappings ?? [], device.gid ?? 0) === null) throw configFieldError(at('gid'), `${device.gid ?? 0} is not mapped by linux.gidMappings`);
    }
  });
}

/** glibc's makedev(): the minor's low 8 bits, the major's 12 bits, the minor's upper 12 bits. */
function deviceNumber(major: number, minor: number): number {
  return (minor & 0xff) + (major & 0xfff) * 0x100 + Math.floor(minor / 0x100) * 0x100000;
}

function statOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return null;
    throw error;
  }
}

/** Makes each directory of `relative` below `root` that is missing; refuses a symlink or a file on the way. */
function makeParents(root: string, relative: string[], at: (string | number)[]): void {
  let path = root;
  for (const segment of relative) {
    path = join(path, segment);
    const stats = statOrNull(path);
    if (stats === null) mkdirSync(path, { mode: 0o755 });
    else if (!stats.isDirectory()) throw configFieldError(at, `cannot be made: ${path.slice(root.length)} is not a directory (a symlink is not followed)`);
  }
}

function sameDevice(stats: Stats, device: OciLinuxDevice): boolean {
  const kind = FILE_TYPE[device.type]!;
  if ((stats.mode & 0o170000) !== kind) return false;
  return device.type === 'p' || stats.rdev === deviceNumber(device.major ?? 0, device.minor ?? 0);
}

/**
 * Makes linux.devices (checked by checkDeviceNodes) below `root`, the container's root as the
 * agent sees it inside the container's mount namespace.
 */
export function createDeviceNodes(spec: OciSpec, root: string): void {
  const userns = (spec.linux?.namespaces ?? []).some((entry) => entry.type === 'user');
  (spec.linux?.devices ?? []).forEach((device, index) => {
    const at = ['linux', 'devices', index, 'path'];
    const segments = device.path.split('/').filter((segment) => segment !== '');
    makeParents(root, segments.slice(0, -1), at);
    const target = join(root, ...segments);
    const existing = statOrNull(target);
    if (existing) {
      // The runtime's own /dev/null etc. are the host's nodes bind-mounted: never chmod/chown those.
      if (sameDevice(existing, device)) return;
      throw configFieldError(at, `${device.path} already exists in the container and is not this device`);
    }
    const mode = device.fileMode ?? DEFAULT_MODE;
    makeNode(target, FILE_TYPE[device.type]! | mode, device.type === 'p' ? 0 : deviceNumber(device.major!, device.minor!));
    // mknod(2) applies the umask; the document's mode is meant exactly.
    chmodSync(target, mode);
    const uid = userns ? hostIdFor(spec.linux?.uidMappings ?? [], device.uid ?? 0)! : device.uid ?? 0;
    const gid = userns ? hostIdFor(spec.linux?.gidMappings ?? [], device.gid ?? 0)! : device.gid ?? 0;
    lchownSync(target, uid, gid);
  });
}

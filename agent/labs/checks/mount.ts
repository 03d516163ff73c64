/*
 * Check "mount": a mount in the container's mount namespace, read from /proc/<pid>/mountinfo —
 * where it is, its filesystem type, read-only or not, and its source. For a bind mount (a
 * hostPath volume) the 4th field, "root", is the directory of the source filesystem that was
 * bound, so the source is checked against that (or the mount source for other filesystems).
 * With `notOnHost` the same target must be absent from the agent's own mount table: the mount
 * exists only in the container's namespace.
 */
import { statSync } from 'node:fs';
import { readMountinfoEntries, type MountinfoEntry } from '../../inspect/mountinfo';
import type { CheckParamsByKind } from '../format';
import { fill, type LabContext } from '../context';
import { failIf, running } from './outcome';

export function checkMount(params: CheckParamsByKind['mount'], context: LabContext): void {
  const pid = running(context, params.container).pid;
  const mounts = readMountinfoEntries(pid).filter((entry) => entry.target === params.target);
  const mount = mounts[mounts.length - 1]; // the one on top is what the path shows
  if (params.present === false) {
    failIf(mount !== undefined, `${params.target} is mounted (${mount?.fstype})`);
    return;
  }
  failIf(mount === undefined, `nothing is mounted at ${params.target}`);
  const options = mount!.mountOptions.split(',');
  if (params.fstype !== undefined) failIf(mount!.fstype !== params.fstype, `${params.target} is ${mount!.fstype}, not ${params.fstype}`);
  if (params.readOnly !== undefined) failIf(options.includes('ro') !== params.readOnly, `${params.target} is mounted ${options.includes('ro') ? 'read-only' : 'read-write'}`);
  if (params.source !== undefined) {
    const source = fill(params.source, context);
    failIf(!comesFrom(mount!, source), `${params.target} comes from ${mount!.source}:${mount!.root}`);
  }
  if (params.notOnHost) {
    const onHost = readMountinfoEntries('self').some((entry) => entry.target === params.target && entry.fstype === mount!.fstype && entry.source === mount!.source);
    failIf(onHost, `the host's own mount table also has ${params.target}`);
  }
}

/**
 * Whether the mount shows `source`: the same device and a root that is the tail of the host path
 * (the root is relative to the filesystem the host directory lives on), or a filesystem source.
 */
function comesFrom(mount: MountinfoEntry, source: string): boolean {
  if (mount.source === source) return true;
  if (!source.startsWith('/')) return false;
  try {
    // glibc's dev_t layout: major in bits 8-19 and 32-43, minor in bits 0-7 and 12-31.
    const dev = statSync(source, { bigint: true }).dev;
    const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
    const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
    const device = `${major}:${minor}`;
    return device === mount.device && source.endsWith(mount.root === '/' ? '' : mount.root);
  } catch {
    return false;
  }
}

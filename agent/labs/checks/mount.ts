/*
 * Check "mount": a mount in the container's mount namespace, read from /proc/<pid>/mountinfo —
 * where it is, its filesystem type, read-only or not, and its source. For a bind mount (a
 * hostPath volume) the question "is this that host directory?" is answered by identity: the
 * directory seen at the target (through /proc/<pid>/root) and the host directory have the same
 * device and inode — a copy elsewhere, whatever its name, does not.
 * With `notOnHost` the same target must be absent from the agent's own mount table: the mount
 * exists only in the container's namespace.
 *
 * Two containers share a volume when their targets are the same directory (device and inode):
 * `sameAs`. An emptyDir is a directory the agent made for a pod under
 * its state root (<root>/pods/POD/volumes/NAME): `emptyDir` looks for the mount's directory there.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readMountinfoEntries, type MountinfoEntry } from '../../inspect/mountinfo';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf, running } from './outcome';

/** The mount a path shows in a container: the last one stacked on it. */
function topMount(pid: number, target: string): MountinfoEntry | undefined {
  return readMountinfoEntries(pid).filter((entry) => entry.target === target).pop();
}

/** Every pod emptyDir directory under the state root. */
function emptyDirs(stateRoot: string): string[] {
  const pods = join(stateRoot, 'pods');
  try {
    return readdirSync(pods).flatMap((pod) => {
      try {
        return readdirSync(join(pods, pod, 'volumes')).map((volume) => join(pods, pod, 'volumes', volume));
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

export function checkMount(params: CheckParamsByKind['mount'], context: LabContext): void {
  const pid = running(context, params.container).pid;
  const mount = topMount(pid, params.target);
  if (params.present === false) {
    failIf(mount !== undefined, `${params.target} is mounted (${mount?.fstype})`);
    return;
  }
  failIf(mount === undefined, `nothing is mounted at ${params.target}`);
  const options = mount!.mountOptions.split(',');
  if (params.fstype !== undefined) failIf(mount!.fstype !== params.fstype, `${params.target} is ${mount!.fstype}, not ${params.fstype}`);
  if (params.readOnly !== undefined) failIf(options.includes('ro') !== params.readOnly, `${params.target} is mounted ${options.includes('ro') ? 'read-only' : 'read-write'}`);
  if (params.source !== undefined) {
    failIf(!comesFrom(pid, mount!, params.source), `${params.target} comes from ${mount!.source}:${mount!.root}`);
  }
  if (params.emptyDir) {
    failIf(!emptyDirs(context.stateRoot).some((directory) => comesFrom(pid, mount!, directory)), `${params.target} is ${mount!.fstype} from ${mount!.source}:${mount!.root}, not a pod's emptyDir volume`);
  }
  if (params.sameAs !== undefined) {
    const otherPid = running(context, params.sameAs).pid;
    const other = topMount(otherPid, params.target);
    failIf(other === undefined, `nothing is mounted at ${params.target} in "${params.sameAs}"`);
    failIf(mounted(otherPid, params.target) !== mounted(pid, params.target), `${params.target} is ${mount!.source}:${mount!.root} here but ${other!.source}:${other!.root} in "${params.sameAs}"`);
  }
  if (params.notOnHost) {
    const onHost = readMountinfoEntries('self').some((entry) => entry.target === params.target && entry.fstype === mount!.fstype && entry.source === mount!.source);
    failIf(onHost, `the host's own mount table also has ${params.target}`);
  }
}

/** Device and inode of a directory: two paths name the same directory exactly when both are equal. */
function identity(path: string): string | null {
  try {
    const stat = statSync(path, { bigint: true });
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return null;
  }
}

/** The directory mounted at `target` in the container, through the kernel's handle on its root. */
const mounted = (pid: number, target: string): string | null => identity(join(`/proc/${pid}/root`, target));

/** Whether the container's `target` is the host directory `source` (or the filesystem `source` names). */
function comesFrom(pid: number, mount: MountinfoEntry, source: string): boolean {
  if (mount.source === source) return true;
  const here = mounted(pid, mount.target);
  return source.startsWith('/') && here !== null && here === identity(source);
}

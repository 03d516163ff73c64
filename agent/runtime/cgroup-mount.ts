/*
 * config.json's `{"type": "cgroup", "destination": "/sys/fs/cgroup"}` mount: the container sees
 * its own cgroup where the host has its hierarchies — as runc does without a cgroup namespace.
 *
 * Mounting a fresh "cgroup" filesystem would not work here: on cgroup v1 a mount without a
 * controller list asks for every controller in one hierarchy, which the kernel refuses (EBUSY)
 * while they are mounted separately. So, inside the container's mount namespace, the host's
 * layout is reproduced with bind mounts: a tmpfs at the destination, and in it, for each host
 * hierarchy the container has a cgroup in, that cgroup's directory bound at the hierarchy's name
 * (/sys/fs/cgroup/memory → <memory hierarchy>/…/<container>). On a pure v2 host the container's
 * cgroup2 directory is bound at the destination itself. Nothing of the host's tree above the
 * container's cgroup is reachable. The mount's options apply to every bind (ro, nosuid, …).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CgroupRecord } from '../protocol';
import { parseMountinfo } from '../inspect/mountinfo';
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT } from '../kernel/constants';
import { mount } from '../kernel/mounts';

/** Call inside the container's mount namespace (a copy of the host's mount table). */
export function mountCgroupTree(target: string, cgroup: CgroupRecord | null, flags: number): void {
  mkdirSync(target, { recursive: true, mode: 0o755 });
  const bindFlags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  const directories = [...new Set(Object.values(cgroup?.directories ?? {}))];
  const hierarchies = parseMountinfo(readFileSync('/proc/thread-self/mountinfo', 'utf8')).filter((entry) => entry.fstype === 'cgroup' || entry.fstype === 'cgroup2');
  const hierarchyOf = (directory: string): string | undefined => hierarchies
    .map((entry) => entry.target)
    .filter((mountPoint) => directory === mountPoint || directory.startsWith(`${mountPoint}/`))
    .sort((a, b) => b.length - a.length)[0];
  const bind = (source: string, at: string): void => {
    mount(source, at, null, MS_BIND);
    mount(null, at, null, MS_REMOUNT | MS_BIND | bindFlags);
  };
  // A pure v2 host: the hierarchy is mounted at /sys/fs/cgroup itself.
  const only = directories.length === 1 ? directories[0]! : null;
  if (only && hierarchyOf(only) === '/sys/fs/cgroup') {
    bind(only, target);
    return;
  }
  mount('tmpfs', target, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=755');
  for (const directory of directories) {
    const hierarchy = hierarchyOf(directory);
    if (!hierarchy) continue;
    const at = join(target, basename(hierarchy));
    mkdirSync(at, { recursive: true, mode: 0o755 });
    bind(directory, at);
  }
  if (bindFlags & MS_RDONLY) mount(null, target, null, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, 'mode=755');
}

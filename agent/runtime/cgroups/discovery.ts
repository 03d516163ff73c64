/*
 * Finding the cgroup hierarchies of this host, and where this process sits in each.
 *
 * A control group (cgroup) is a set of processes the kernel accounts and limits together; a
 * *controller* (memory, cpu, pids, freezer, …) is the kernel subsystem that does the accounting
 * and limiting for one resource. Groups form a tree — a *hierarchy* — exposed as directories.
 *
 *   cgroup v1: every controller can live in its own hierarchy, each its own mount
 *     (/sys/fs/cgroup/memory, /sys/fs/cgroup/cpu, …). A process sits at one place in *each*
 *     hierarchy, and those places can differ: here memory:/process_api/… but cpu:/.
 *   cgroup v2: one single tree (type cgroup2) for every controller. A process sits at exactly one
 *     place. Controllers are switched on per subtree by writing "+memory" into a parent's
 *     cgroup.subtree_control.
 *   hybrid: both at once (systemd's old default): v1 mounts hold the real controllers and a
 *     cgroup2 mount (often /sys/fs/cgroup/unified) holds few or none.
 *
 * Where they are mounted is a distribution's choice, so nothing here is hard-coded:
 * /proc/self/mountinfo lists every mount with its filesystem type ("cgroup" or "cgroup2"), its
 * super options (a v1 mount's controllers: "rw,memory") and the *root* — which cgroup of the
 * hierarchy appears at the mount point (not always "/": a container sees only its own subtree).
 * /proc/self/cgroup lists, one line per hierarchy, "id:controllers:path" — where this process is
 * ("0::/path" is the v2 line). Joining the two gives, per hierarchy, the directory of any cgroup.
 */
import * as path from 'node:path';

export interface Hierarchy {
  version: 1 | 2;
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory or /sys/fs/cgroup. */
  mountPoint: string;
  /** Which cgroup of the hierarchy the mount shows at mountPoint ("/" for a whole-tree mount). */
  mountRoot: string;
  /** v1: the controllers bound to this hierarchy; v2: those listed in its cgroup.controllers. */
  controllers: string[];
  /** v1 named hierarchy without controllers, e.g. "systemd" from name=systemd. */
  name: string | null;
  /** This process's cgroup in this hierarchy, from /proc/self/cgroup. */
  ownPath: string;
}

export interface CgroupLayout {
  mode: 1 | 2 | 'hybrid';
  /** v1 hierarchies with at least one controller, or a name. */
  v1: Hierarchy[];
  /** The cgroup2 hierarchy, if mounted. */
  v2: Hierarchy | null;
}

/** Controllers a v1 mount can carry; everything else in its super options is a mount option. */
const V1_CONTROLLERS = new Set([
  'cpuset', 'cpu', 'cpuacct', 'blkio', 'io', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc', 'debug',
]);

interface MountLine {
  device: string;
  root: string;
  mountPoint: string;
  fstype: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \040, \011, \012, \134. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parses /proc/<pid>/mountinfo: "id parent major:minor root mountpoint opts [optional…] - fstype source superopts". */
export function parseMountinfo(text: string): MountLine[] {
  const mounts: MountLine[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const separator = fields.indexOf('-');
    if (separator < 6 || fields.length < separator + 4) continue;
    mounts.push({
      device: fields[2]!,
      root: unescapeMountField(fields[3]!),
      mountPoint: unescapeMountField(fields[4]!),
      fstype: fields[separator + 1]!,
      superOptions: fields[separator + 3]!.split(','),
    });
  }
  return mounts;
}

/** Parses /proc/<pid>/cgroup into [controller list, path] pairs; the v2 line has an empty list. */
export function parseProcCgroup(text: string): { controllers: string[]; path: string }[] {
  const entries: { controllers: string[]; path: string }[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    entries.push({ controllers: match[2] ? match[2].split(',') : [], path: match[3]! });
  }
  return entries;
}

/**
 * Joins mountinfo and /proc/self/cgroup into the host's hierarchies. `v2Controllers` reads a
 * cgroup2 mount's cgroup.controllers (injected so synthetic mountinfo can be tested).
 */
export function layoutFrom(mountinfo: string, procCgroup: string, v2Controllers: (mountPoint: string) => string[]): CgroupLayout {
  const own = parseProcCgroup(procCgroup);
  const ownV2 = own.find((entry) => entry.controllers.length === 0)?.path ?? '/';
  // The same hierarchy can be mounted more than once (bind mounts, containers): keep, per
  // superblock (major:minor), the mount that shows the widest part of the tree.
  const bySuperblock = new Map<string, MountLine>();
  for (const mount of parseMountinfo(mountinfo)) {
    if (mount.fstype !== 'cgroup' && mount.fstype !== 'cgroup2') continue;
    const known = bySuperblock.get(mount.device);
    if (!known || mount.root.length < known.root.length) bySuperblock.set(mount.device, mount);
  }

  const v1: Hierarchy[] = [];
  let v2: Hierarchy | null = null;
  for (const mount of bySuperblock.values()) {
    if (mount.fstype === 'cgroup2') {
      if (v2) continue;
      v2 = { version: 2, mountPoint: mount.mountPoint, mountRoot: mount.root, controllers: v2Controllers(mount.mountPoint), name: null, ownPath: ownV2 };
      continue;
    }
    const controllers = mount.superOptions.filter((option) => V1_CONTROLLERS.has(option));
    const name = mount.superOptions.find((option) => option.startsWith('name='))?.slice('name='.length) ?? null;
    // /proc/self/cgroup names a v1 hierarchy by its controllers ("cpu,cpuacct") or "name=systemd".
    const line = own.find((entry) =>
      entry.controllers.length > 0 &&
      entry.controllers.every((item) => (item.startsWith('name=') ? item.slice(5) === name : controllers.includes(item))) &&
      (name !== null || controllers.length === entry.controllers.length));
    v1.push({ version: 1, mountPoint: mount.mountPoint, mountRoot: mount.root, controllers, name, ownPath: line?.path ?? '/' });
  }
  // By code unit, not localeCompare: its first call loads ICU's collation data (~15 ms), paid at
  // every start-up of containers-lab-runc; mount points are ASCII paths either way.
  v1.sort((a, b) => (a.mountPoint < b.mountPoint ? -1 : a.mountPoint > b.mountPoint ? 1 : 0));

  const hasV1 = v1.some((hierarchy) => hierarchy.controllers.length > 0);
  const mode = hasV1 && v2 ? 'hybrid' : hasV1 ? 1 : 2;
  return { mode, v1, v2 };
}

/**
 * The directory of cgroup `cgroupPath` in `hierarchy`, or null when this mount cannot show it
 * (the mount's root is a subtree that does not contain the path).
 */
export function directoryOf(hierarchy: Hierarchy, cgroupPath: string): string | null {
  const root = hierarchy.mountRoot === '/' ? '' : hierarchy.mountRoot;
  if (root && cgroupPath !== root && !cgroupPath.startsWith(`${root}/`)) return null;
  return path.resolve(hierarchy.mountPoint, `.${cgroupPath.slice(root.length)}`);
}

/** A readable summary for error messages: "v1 hierarchies: cpu, memory, …; cgroup2 at … offers: hugetlb". */
export function describeLayout(layout: CgroupLayout): string {
  const parts: string[] = [];
  const v1 = layout.v1.flatMap((hierarchy) => hierarchy.controllers);
  if (layout.v1.length) parts.push(`v1 hierarchies: ${v1.length ? v1.join(', ') : 'none with controllers'}`);
  if (layout.v2) parts.push(`cgroup2 at ${layout.v2.mountPoint} offers: ${layout.v2.controllers.join(', ') || 'no controllers'}`);
  return parts.join('; ') || 'no cgroup filesystem is mounted';
}

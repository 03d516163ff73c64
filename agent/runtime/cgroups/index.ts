/*
 * Control groups: how a container's resources are limited, measured, frozen and killed.
 *
 * Namespaces decide what a process can *see*; a control group (cgroup) decides how much it can
 * *use*. A cgroup is a set of processes the kernel accounts together, exposed as a directory:
 * its cgroup.procs lists the members (children of a member are born inside it), and each
 * *controller* — memory, cpu, pids, freezer, … the kernel subsystem for one resource — adds
 * files that hold the group's limits and counters. A container is, for the kernel, simply a
 * cgroup its processes were put in.
 *
 * Two versions of the interface exist and this module hides the difference:
 *   v1 (./v1.ts): a separate tree per controller; one container = one directory per tree.
 *   v2 (./v2.ts): one tree; controllers enabled per subtree via cgroup.subtree_control; a group
 *     that hands controllers down may not hold processes itself ("no internal processes").
 * Which one a host uses — or both, a "hybrid" — is discovered from /proc/self/mountinfo
 * (./discovery.ts). Containers always go under the agent's own cgroup (./placement.ts).
 * Limit files: memory.limit_in_bytes | memory.max, cpu.cfs_quota_us + cpu.cfs_period_us |
 * cpu.max, pids.max | pids.max — see ./limits.ts for what each limit means. Device access:
 * devices.allow/deny | an eBPF program on the cgroup — see ./device-rules.ts and ./device-filter.ts.
 * CPUs and memory nodes: cpuset.cpus/cpuset.mems, both versions — see ./cpuset.ts (v1's trap).
 */
import * as fs from 'node:fs';
import { badInput } from '../../errors';
import { hasErrno } from '../../kernel/errors';
import type { CgroupLimits, CgroupRecord, CgroupUsage } from '../../protocol';
import { describeLayout, layoutFrom, type CgroupLayout, type Hierarchy } from './discovery';
import { validateLimits } from './limits';
import { unsupportedController, validateCgroupName } from './placement';
import { CgroupV1, createV1Cgroup, hierarchyFor, planV1Cgroup, UNIFIED, V1_MANAGED, v1CgroupOfProcess, v1Floors } from './v1';
import type { DeviceRule } from './device-rules';
import { V1_ON_DEMAND } from './cpuset';
import { CgroupV2, createV2Cgroup, planV2Cgroup, V2_MANAGED, v2CgroupOfProcess, v2Floor } from './v2';

export interface Cgroup {
  readonly version: 1 | 2;
  /** Relative to the hierarchy root, e.g. /process_api/…/containers-lab/<name> (v1: the memory hierarchy's). */
  readonly path: string;
  /** Directories, which file holds which limit, limits and usage read from the kernel's files. */
  record(): CgroupRecord;
  /** Writes memory (bytes), cpu quota/period and pids limits; null = unlimited. */
  setLimits(limits: CgroupLimits): void;
  /** The limits as the kernel's files hold them now. */
  limits(): CgroupLimits;
  usage(): CgroupUsage;
  /** Only the OOM-kill counter of usage(): one file, for the bookkeeping when a container exits. */
  oomKills(): number;
  /**
   * One file per hierarchy that a single-threaded process moves itself with by writing "0": v1's
   * `tasks` (./v1.ts says why not its cgroup.procs), v2's cgroup.procs. The container's first
   * process does that with descriptors the agent opened for it.
   */
  membershipFiles(): string[];
  /** Moves a process (all its threads) into this cgroup — in every hierarchy on v1. */
  addProcess(pid: number): void;
  processes(): number[];
  /** Stops every task and returns once the kernel reports the group frozen. */
  freeze(): void;
  thaw(): void;
  /** SIGKILLs every task (v2: cgroup.kill) and returns once the group is empty. */
  killAll(): void;
  /** Removes the cgroup's directories; a missing directory is fine, remaining tasks are not. */
  destroy(): void;
}

export interface CgroupHost {
  readonly mode: 1 | 2 | 'hybrid';
  /** The version container cgroups are made with on this host. */
  readonly version: 1 | 2;
  /** Controllers usable for containers ("memory", "cpu", "pids", "freezer", …). */
  readonly controllers: string[];
  /** The discovered hierarchies (what inspection shows as "cgroup mounts"). */
  readonly layout: CgroupLayout;
  /**
   * Makes `<own cgroup>/containers-lab/<name>` — or `<own cgroup>/<placement.at>` — with `limits`
   * and the device rules `devices` (null or left out: none, every device reachable); nothing is
   * left behind on failure. `placement.required`: controllers a document's other resources need
   * (v2: enabled down to the container's cgroup; refused where the host does not offer them).
   */
  create(name: string, limits: CgroupLimits, devices?: readonly DeviceRule[] | null, placement?: CgroupPlacement): Cgroup;
  /**
   * Where create(name) will put the cgroup, without touching the filesystem: recorded before the
   * directories exist, so an agent that dies half-way leaves a record the next one can clean up.
   */
  plan(name: string, at?: string, required?: readonly string[]): CgroupRecord;
  /** Re-opens a cgroup from a persisted record (after an agent restart). */
  open(record: CgroupRecord): Cgroup;
  /**
   * The cgroup a process is in (for exec and inspection), or null when the process does not
   * exist. It may be a cgroup the lab did not make: do not destroy() it.
   */
  forProcess(pid: number): Cgroup | null;
}

/** Where a container's cgroup goes (linux.cgroupsPath, see ./placement.ts) and what else it needs. */
export interface CgroupPlacement {
  /** Path under the agent's own cgroup, e.g. "kubepods/pod1/c1"; default containers-lab/<name>. */
  at?: string;
  /**
   * Controllers beyond memory, cpu and pids that the document's resources need: v2, enabled down to
   * the container; v1, hierarchies made only on demand (cpuset, ./cpuset.ts).
   */
  required?: readonly string[];
}

export interface CgroupHostOptions {
  /** Read this file instead of /proc/self/mountinfo (tests). */
  mountinfoPath?: string;
  /** Read this file instead of /proc/self/cgroup (tests). */
  procCgroupPath?: string;
  /** Place containers under this cgroup path (in every hierarchy) instead of our own. */
  ownCgroupPath?: string;
  /**
   * Removing a container's cgroup removes the emptied cgroups its creation made on the way, and
   * none that existed before it (default: every emptied one up to our own cgroup). For cgroups
   * placed by the caller's plan, as runc places an absolute cgroupsPath from the top of the tree.
   */
  keepExistingParents?: boolean;
  /** Force v1 or v2 on a hybrid host (v2 on a hybrid host offers only what its cgroup2 mount has). */
  version?: 1 | 2;
  /** v2: the controllers to enable for containers (default memory, cpu, pids where offered). */
  v2Controllers?: string[];
}

function readV2Controllers(mountPoint: string): string[] {
  try {
    return fs.readFileSync(`${mountPoint}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch (error) {
    if (hasErrno(error, 'ENOENT') || hasErrno(error, 'EACCES')) return [];
    throw error;
  }
}

/** On a hybrid host v1 carries the real controllers; v2 is used where v1 has none of them. */
function chooseVersion(layout: CgroupLayout, forced: 1 | 2 | undefined): 1 | 2 {
  if (forced === 2 && !layout.v2) throw unsupportedController('cgroup2', describeLayout(layout));
  if (forced) return forced;
  if (layout.mode === 'hybrid') return V1_MANAGED.some((controller) => hierarchyFor(layout, controller)) ? 1 : 2;
  return layout.mode;
}

class Host implements CgroupHost {
  readonly mode: 1 | 2 | 'hybrid';
  readonly version: 1 | 2;
  readonly controllers: string[];
  private readonly where: string;
  private readonly v2Managed: string[];

  constructor(readonly layout: CgroupLayout, forced: 1 | 2 | undefined, v2Managed: string[] | undefined, private readonly keepExistingParents = false) {
    this.mode = layout.mode;
    this.version = chooseVersion(layout, forced);
    this.v2Managed = v2Managed ?? V2_MANAGED;
    this.where = describeLayout(layout);
    this.controllers = this.version === 1
      ? V1_MANAGED.filter((controller) => hierarchyFor(layout, controller))
      : [...(layout.v2?.controllers ?? []), 'freezer'];
  }

  private get v2(): Hierarchy {
    return this.layout.v2!;
  }

  create(name: string, limits: CgroupLimits, devices: readonly DeviceRule[] | null = null, placement: CgroupPlacement = {}): Cgroup {
    validateCgroupName(name);
    validateLimits(limits);
    if (this.version === 1) {
      // v1's other controllers are not made for containers: a document needing one was refused earlier.
      const missing = (placement.required ?? []).find((controller) => !hierarchyFor(this.layout, controller) || ![...V1_MANAGED, ...V1_ON_DEMAND].includes(controller));
      if (missing) throw unsupportedController(missing, this.where);
      return createV1Cgroup(this.layout, name, limits, devices, this.where, placement.at, placement.required, this.keepExistingParents);
    }
    return createV2Cgroup(this.v2, name, limits, devices, this.v2Managed, this.where, { ...placement, keepExistingParents: this.keepExistingParents });
  }

  plan(name: string, at?: string, required: readonly string[] = []): CgroupRecord {
    validateCgroupName(name);
    const unlimited: CgroupLimits = { memoryBytes: null, cpuQuotaUs: null, cpuPeriodUs: 100000, pids: null };
    if (this.version === 1) {
      const { path, directories } = planV1Cgroup(this.layout, name, this.where, at, required);
      return { version: 1, path, directories: { ...directories }, files: {}, limits: unlimited, usage: null };
    }
    const { path, directory } = planV2Cgroup(this.v2, name, at);
    return { version: 2, path, directories: { unified: directory }, files: {}, limits: unlimited, usage: null };
  }

  open(record: CgroupRecord): Cgroup {
    const v2Mounts = this.layout.v2 ? [this.layout.v2.mountPoint] : [];
    const v1Mounts = this.layout.v1.map((hierarchy) => hierarchy.mountPoint);
    // A record comes from disk: accept only directories inside this host's cgroup mounts (a v1
    // record's "unified" directory is its cgroup2 part on a hybrid host).
    for (const [key, directory] of Object.entries(record.directories)) {
      const mountPoints = record.version === 2 || key === UNIFIED ? v2Mounts : v1Mounts;
      const inside = mountPoints.some((mountPoint) => directory.startsWith(`${mountPoint}/`) && !directory.includes('/../'));
      if (!inside) throw badInput(`cgroup record directory ${directory} is not inside a cgroup v${key === UNIFIED ? 2 : record.version} mount of this host`);
    }
    const floors = record.floors ?? {};
    for (const [directory, floor] of Object.entries(floors)) {
      const inMount = [...v1Mounts, ...v2Mounts].some((mountPoint) => floor === mountPoint || floor.startsWith(`${mountPoint}/`));
      if (!directory.startsWith(`${floor}/`) || !inMount || floor.includes('/../')) throw badInput(`cgroup record floor ${floor} is not above ${directory} in a cgroup mount`);
    }
    const recorded = record.floors !== undefined;
    if (record.version === 1) return new CgroupV1(record.path, { ...record.directories }, this.where, { ...v1Floors(this.layout, record.directories), ...floors }, recorded);
    const directory = record.directories.unified;
    if (!directory) throw badInput('cgroup v2 record has no "unified" directory');
    return new CgroupV2(record.path, directory, this.where, floors[directory] ?? (this.layout.v2 ? v2Floor(this.layout.v2) : undefined), recorded);
  }

  forProcess(pid: number): Cgroup | null {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch (error) {
      if (hasErrno(error, 'ENOENT') || hasErrno(error, 'ESRCH')) return null;
      throw error;
    }
    if (this.version === 1) return v1CgroupOfProcess(this.layout, text, this.where);
    return v2CgroupOfProcess(this.v2, text, this.where);
  }
}

let cached: CgroupHost | null = null;

/** Discovers the host's cgroup hierarchies (once, unless options are given) and returns the host. */
export function openCgroupHost(options: CgroupHostOptions = {}): CgroupHost {
  const defaults = Object.keys(options).length === 0;
  if (defaults && cached) return cached;
  const mountinfo = fs.readFileSync(options.mountinfoPath ?? '/proc/self/mountinfo', 'utf8');
  const procCgroup = fs.readFileSync(options.procCgroupPath ?? '/proc/self/cgroup', 'utf8');
  const layout = layoutFrom(mountinfo, procCgroup, readV2Controllers);
  if (options.ownCgroupPath !== undefined) {
    if (!options.ownCgroupPath.startsWith('/') || options.ownCgroupPath.split('/').includes('..')) {
      throw badInput(`invalid own cgroup path ${JSON.stringify(options.ownCgroupPath)}: expected an absolute cgroup path without '..'`);
    }
    for (const hierarchy of [...layout.v1, ...(layout.v2 ? [layout.v2] : [])]) hierarchy.ownPath = options.ownCgroupPath;
  }
  const host = new Host(layout, options.version, options.v2Controllers, options.keepExistingParents);
  if (defaults) cached = host;
  return host;
}

export { describeLayout, layoutFrom, parseMountinfo, parseProcCgroup, type CgroupLayout, type Hierarchy } from './discovery';
export { UNLIMITED, validateLimits } from './limits';
export { deviceRulesFromConfig, type DeviceRule } from './device-rules';
export { cgroupsPathProblem, placementFrom, validateCgroupName } from './placement';

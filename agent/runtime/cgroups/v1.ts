/*
 * cgroup v1: one hierarchy per controller (or per group of co-mounted controllers).
 *
 * A cgroup is a directory; the processes in it are listed in its cgroup.procs; the controller
 * that owns the hierarchy adds its files next to it. In v1 each controller is its own tree, so
 * one container is really *several* directories — one per hierarchy — and a process must be
 * written into each hierarchy's cgroup.procs separately. Their paths may even differ, because
 * this process itself may sit at different places in different hierarchies (memory:/a/b, cpu:/).
 * v1 has no "no internal processes" rule: a cgroup may hold processes and child groups alike.
 *
 * Which file holds what (v1):
 *   memory   memory.limit_in_bytes (limit, -1 = none), memory.memsw.limit_in_bytes (RAM+swap),
 *            memory.usage_in_bytes, memory.max_usage_in_bytes (peak),
 *            memory.oom_control ("oom_kill N": processes the OOM killer killed here)
 *   cpu      cpu.cfs_quota_us (-1 = none) per cpu.cfs_period_us
 *   cpuacct  cpuacct.usage (CPU time used, nanoseconds)
 *   pids     pids.max ("max" = none), pids.current
 *   freezer  freezer.state: write FROZEN/THAWED; reads FREEZING until every task is stopped
 *   devices  devices.deny / devices.allow (write one rule each), devices.list (see ./device-rules.ts)
 *   cpuset   cpuset.cpus, cpuset.mems — only for a container that asks for them, and filled from
 *            the parent before any task may join (see ./cpuset.ts)
 *
 * On a hybrid host the container also gets a directory in the cgroup2 hierarchy ("unified"),
 * even though that hierarchy has no controllers here: cgroup v2's device control is an eBPF
 * program on a v2 cgroup (./device-filter.ts), which works whatever controllers it offers.
 */
import { SIGKILL } from '../../kernel/constants';
import { signalProcess } from '../../kernel/processes';
import { conflict } from '../../errors';
import type { CgroupLimits, CgroupRecord, CgroupUsage } from '../../protocol';
import {
  fileExists, parseKeyedLines, readCgroupFile, readNumber, readOptional, readPids, sleepMs, waitUntil, writeCgroupFile,
} from './cgroupfs';
import { directoryOf, type CgroupLayout, type Hierarchy } from './discovery';
import type { Cgroup } from './index';
import { DEFAULT_CPU_PERIOD_US, parseLimitValue, UNLIMITED, validateLimits } from './limits';
import {
  containerCgroupPath, controllersForLimits, deepestExisting, makeCgroupDirectory, ownCgroupFrom, removeCgroupDirectory, unsupportedController,
} from './placement';
import { attachDeviceFilter } from './device-filter';
import { applyV1DeviceRules, type DeviceRule } from './device-rules';
import { fillCpusetFromParents, V1_ON_DEMAND } from './cpuset';
import * as path from 'node:path';

/** The v1 controllers every container cgroup is made in: limits, usage readings, freezing, device access. */
export const V1_MANAGED = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer', 'devices'];
/** The directories key of the container's cgroup in the cgroup2 hierarchy of a hybrid host. */
export const UNIFIED = 'unified';

/** controller → absolute directory of this cgroup in the hierarchy carrying that controller. */
export type V1Directories = Record<string, string>;

export class CgroupV1 implements Cgroup {
  readonly version = 1 as const;
  private lastLimits: CgroupLimits = UNLIMITED;

  /**
   * @param path the cgroup path in the memory hierarchy (or the first one present); other
   *   hierarchies may use a different path, see `directories`.
   * @param where a description of the host's hierarchies for "unsupported" errors.
   * @param floors per directory, the agent's own cgroup in that hierarchy: destroy() removes the
   *   emptied cgroups between it and the container's (none given: only containers-lab/).
   * @param recordFloors whether record() keeps them: floors that are not the agent's own cgroup
   *   (the caller planned the tree, see ./placement.ts deepestExisting) cannot be found again.
   */
  constructor(
    readonly path: string, private readonly directories: V1Directories, private readonly where: string,
    private readonly floors: Record<string, string> = {}, private readonly recordFloors = false,
  ) {}

  private file(controller: string, name: string): string | null {
    const directory = this.directories[controller];
    return directory ? path.join(directory, name) : null;
  }

  private require(controller: string, name: string): string {
    const file = this.file(controller, name);
    if (!file) throw unsupportedController(controller, this.where);
    return file;
  }

  /** Each hierarchy's directory once (cpu and cpuacct are often co-mounted in one). */
  private uniqueDirectories(): string[] {
    return [...new Set(Object.values(this.directories))];
  }

  record(): CgroupRecord {
    const present = this.uniqueDirectories().every(fileExists);
    const files: Record<string, string> = {};
    const candidates: [string, string, string][] = [
      ['memory', 'memory', 'memory.limit_in_bytes'],
      ['memorySwap', 'memory', 'memory.memsw.limit_in_bytes'],
      ['memoryCurrent', 'memory', 'memory.usage_in_bytes'],
      ['memoryPeak', 'memory', 'memory.max_usage_in_bytes'],
      ['oomKills', 'memory', 'memory.oom_control'],
      ['cpuQuota', 'cpu', 'cpu.cfs_quota_us'],
      ['cpuPeriod', 'cpu', 'cpu.cfs_period_us'],
      ['cpuUsage', 'cpuacct', 'cpuacct.usage'],
      ['pids', 'pids', 'pids.max'],
      ['pidsCurrent', 'pids', 'pids.current'],
      ['freezer', 'freezer', 'freezer.state'],
      ['devices', 'devices', 'devices.list'],
    ];
    for (const [key, controller, name] of candidates) {
      const file = this.file(controller, name);
      if (file && (!present || controllerFileExists(file))) files[key] = file;
    }
    return {
      version: 1,
      path: this.path,
      directories: { ...this.directories },
      files,
      limits: present ? this.limits() : this.lastLimits,
      usage: present ? this.usage() : null,
      ...(this.recordFloors ? { floors: { ...this.floors } } : {}),
    };
  }

  setLimits(limits: CgroupLimits): void {
    validateLimits(limits);
    for (const controller of controllersForLimits(limits)) {
      if (!this.directories[controller]) throw unsupportedController(controller, this.where);
    }
    const memory = this.file('memory', 'memory.limit_in_bytes');
    if (memory) {
      // The RAM+swap limit must never be below the RAM limit, so open it first, then set both
      // to the same value: with swap the group would otherwise page out instead of meeting the
      // OOM killer, and "--memory 64m" would not mean 64 MiB.
      const swap = this.file('memory', 'memory.memsw.limit_in_bytes');
      const hasSwapFile = swap !== null && fileExists(swap);
      const value = limits.memoryBytes === null ? '-1' : String(limits.memoryBytes);
      if (hasSwapFile) writeCgroupFile(swap, '-1');
      writeCgroupFile(memory, value);
      if (hasSwapFile) writeCgroupFile(swap, value);
    }
    const quota = this.file('cpu', 'cpu.cfs_quota_us');
    if (quota) {
      // Lift the quota before changing the period, so no intermediate pair is rejected.
      writeCgroupFile(quota, '-1');
      writeCgroupFile(this.require('cpu', 'cpu.cfs_period_us'), String(limits.cpuPeriodUs));
      if (limits.cpuQuotaUs !== null) writeCgroupFile(quota, String(limits.cpuQuotaUs));
    }
    const pids = this.file('pids', 'pids.max');
    if (pids) writeCgroupFile(pids, limits.pids === null ? 'max' : String(limits.pids));
    this.lastLimits = { ...limits };
  }

  limits(): CgroupLimits {
    const read = (controller: string, name: string): string | null => {
      const file = this.file(controller, name);
      return file ? readOptional(file) : null;
    };
    const period = read('cpu', 'cpu.cfs_period_us');
    return {
      memoryBytes: parseLimitValue(read('memory', 'memory.limit_in_bytes')),
      cpuQuotaUs: parseLimitValue(read('cpu', 'cpu.cfs_quota_us')),
      cpuPeriodUs: period === null ? DEFAULT_CPU_PERIOD_US : Number(period.trim()),
      pids: parseLimitValue(read('pids', 'pids.max')),
    };
  }

  oomKills(): number {
    const oomControl = this.file('memory', 'memory.oom_control');
    return oomControl ? parseKeyedLines(readOptional(oomControl)).get('oom_kill') ?? 0 : 0;
  }

  usage(): CgroupUsage {
    const number = (controller: string, name: string): number => {
      const file = this.file(controller, name);
      return (file && readNumber(file)) || 0;
    };
    return {
      memoryCurrentBytes: number('memory', 'memory.usage_in_bytes'),
      memoryPeakBytes: number('memory', 'memory.max_usage_in_bytes'),
      cpuUsageNs: number('cpuacct', 'cpuacct.usage'),
      pidsCurrent: number('pids', 'pids.current'),
      oomKills: this.oomKills(),
      frozen: this.freezerState() === 'FROZEN',
    };
  }

  /**
   * `tasks`, not cgroup.procs: every move through cgroup.procs takes one host-wide lock for
   * writing (cgroup_threadgroup_rwsem, which keeps forks and exits from racing the move), and the
   * first writer after a quiet spell waits for an RCU grace period before it may enter: 5–15 ms
   * on a 2-CPU machine. A thread that moves itself ("0" into `tasks`) cannot exit or exec while it
   * moves, so the kernel skips that lock (cgroup_procs_write_start); for the container's first
   * process, single-threaded until it execs, that moves the whole process. To watch it: time a
   * child's first write of "0" into a fresh cgroup's cgroup.procs, then into its `tasks`.
   * The cgroup2 part of a hybrid host has no `tasks` (its cgroup.threads moves threads only
   * within one domain), so that move still waits.
   */
  membershipFiles(): string[] {
    const unified = this.directories[UNIFIED];
    return this.uniqueDirectories().map((directory) => path.join(directory, directory === unified ? 'cgroup.procs' : 'tasks'));
  }

  addProcess(pid: number): void {
    // Moving is per hierarchy: the process must be written into every one of them.
    for (const directory of this.uniqueDirectories()) writeCgroupFile(path.join(directory, 'cgroup.procs'), String(pid));
  }

  processes(): number[] {
    const all = new Set<number>();
    for (const directory of this.uniqueDirectories()) {
      for (const pid of readPids(path.join(directory, 'cgroup.procs'))) all.add(pid);
    }
    return [...all].sort((a, b) => a - b);
  }

  private freezerState(): string | null {
    const file = this.file('freezer', 'freezer.state');
    return file ? readOptional(file)?.trim() ?? null : null;
  }

  private setFreezer(state: 'FROZEN' | 'THAWED'): void {
    const file = this.require('freezer', 'freezer.state');
    writeCgroupFile(file, state);
    // FREEZING means some task has not stopped yet; the kernel retries on every read/write.
    const settled = waitUntil(() => {
      const now = readCgroupFile(file).trim();
      if (now === 'FREEZING') writeCgroupFile(file, state);
      return now === state;
    }, 3000);
    if (!settled) throw conflict(`cgroup ${this.path} did not become ${state} (freezer.state: ${this.freezerState()})`);
  }

  freeze(): void {
    this.setFreezer('FROZEN');
  }

  thaw(): void {
    this.setFreezer('THAWED');
  }

  killAll(): void {
    // SIGKILL stays pending on a frozen task, so signal first and thaw afterwards: every task then
    // dies the moment it runs, and none gets the chance to fork between a thaw and the kill.
    const deadline = Date.now() + 5000;
    for (;;) {
      const pids = this.processes();
      if (pids.length === 0) return;
      for (const pid of pids) signalProcess(pid, SIGKILL);
      const state = this.freezerState();
      if (state === 'FROZEN' || state === 'FREEZING') writeCgroupFile(this.require('freezer', 'freezer.state'), 'THAWED');
      if (Date.now() >= deadline) throw conflict(`cgroup ${this.path} still has processes after SIGKILL: ${this.processes().join(', ')}`);
      sleepMs(2);
    }
  }

  destroy(): void {
    // Leave no empty containers-lab/ (or cgroupsPath parents) behind once the last container is gone.
    for (const directory of this.uniqueDirectories()) removeCgroupDirectory(directory, this.floors[directory]);
  }
}

/**
 * Whether a v1 cgroup has control file `file`. In v1 the files of a cgroup are fixed by its
 * hierarchy — the controllers mounted there and the kernel's boot options (memory.memsw.* exists
 * only with swap accounting) — so every cgroup under the same parent has the same ones: the
 * answer is looked up once per parent directory and file name, not on every record.
 */
const knownFiles = new Map<string, boolean>();
function controllerFileExists(file: string): boolean {
  const key = path.join(path.dirname(path.dirname(file)), path.basename(file));
  let exists = knownFiles.get(key);
  if (exists === undefined) {
    exists = fileExists(file);
    knownFiles.set(key, exists);
  }
  return exists;
}

/** The v1 hierarchy that carries `controller`, if any. */
export function hierarchyFor(layout: CgroupLayout, controller: string): Hierarchy | undefined {
  return layout.v1.find((hierarchy) => hierarchy.controllers.includes(controller));
}

/**
 * The agent's own cgroup directory in the hierarchy of each of `directories` (keyed as they
 * are): where destroy() stops removing emptied parents.
 */
export function v1Floors(layout: CgroupLayout, directories: V1Directories): Record<string, string> {
  const floors: Record<string, string> = {};
  for (const [key, directory] of Object.entries(directories)) {
    const hierarchy = key === UNIFIED ? layout.v2 : hierarchyFor(layout, key);
    const own = hierarchy && directoryOf(hierarchy, key === UNIFIED ? ownCgroupFrom(hierarchy.ownPath) : hierarchy.ownPath);
    if (own) floors[directory] = own;
  }
  return floors;
}

/** The managed controllers, and those of `required` that are made only on demand (cpuset). */
function controllersFor(required: readonly string[]): string[] {
  return [...V1_MANAGED, ...V1_ON_DEMAND.filter((controller) => required.includes(controller))];
}

/**
 * Where `<own>/containers-lab/<name>` (or `<own>/<at>`, see ./placement.ts) is, in every
 * hierarchy carrying a managed controller or one of `required` (cpuset, see ./cpuset.ts).
 */
export function planV1Cgroup(layout: CgroupLayout, name: string, where: string, at?: string, required: readonly string[] = []): { path: string; directories: V1Directories } {
  const directories: V1Directories = {};
  let primaryPath: string | null = null;
  for (const controller of controllersFor(required)) {
    const hierarchy = hierarchyFor(layout, controller);
    if (!hierarchy) continue;
    const cgroupPath = containerCgroupPath(hierarchy.ownPath, name, at);
    const directory = directoryOf(hierarchy, cgroupPath);
    if (!directory) throw conflict(`cgroup ${cgroupPath} is outside the ${controller} mount at ${hierarchy.mountPoint} (mounted from ${hierarchy.mountRoot})`);
    directories[controller] = directory;
    if (controller === 'memory' || primaryPath === null) primaryPath = cgroupPath;
  }
  if (primaryPath === null) throw unsupportedController('memory', where);
  if (layout.v2) {
    const cgroupPath = containerCgroupPath(ownCgroupFrom(layout.v2.ownPath), name, at);
    const directory = directoryOf(layout.v2, cgroupPath);
    if (!directory) throw conflict(`cgroup ${cgroupPath} is outside the cgroup2 mount at ${layout.v2.mountPoint} (mounted from ${layout.v2.mountRoot})`);
    directories[UNIFIED] = directory;
  }
  return { path: primaryPath, directories };
}

/**
 * Makes `<own>/containers-lab/<name>` (or `<own>/<at>`) in every hierarchy carrying a managed
 * controller (and in the cgroup2 hierarchy of a hybrid host), with `limits` and, unless null, the
 * device rules `devices`.
 */
export function createV1Cgroup(
  layout: CgroupLayout, name: string, limits: CgroupLimits, devices: readonly DeviceRule[] | null, where: string, at?: string,
  required: readonly string[] = [], keepExistingParents = false,
): CgroupV1 {
  const { path: primaryPath, directories } = planV1Cgroup(layout, name, where, at, required);
  const floors = v1Floors(layout, directories);
  if (keepExistingParents) for (const [directory, floor] of Object.entries(floors)) floors[directory] = deepestExisting(directory, floor);
  const created: string[] = [];
  const cgroup = new CgroupV1(primaryPath, directories, where, floors, keepExistingParents);
  try {
    for (const directory of new Set(Object.values(directories))) {
      const floor = floors[directory];
      if (!floor) throw conflict(`cgroup ${directory} is not below the agent's own cgroup`);
      if (!makeCgroupDirectory(directory, floor)) throw conflict(`cgroup ${directory} already exists`);
      created.push(directory);
    }
    // Before anything else: a cpuset without CPUs or memory nodes accepts no task. (Where cpuset
    // shares a hierarchy with a managed controller — "cpu,cpuset" — every container is in it.)
    const cpusetHierarchy = hierarchyFor(layout, 'cpuset');
    const cpusetDirectory = cpusetHierarchy && Object.entries(directories).find(([controller]) => cpusetHierarchy.controllers.includes(controller))?.[1];
    if (cpusetDirectory) fillCpusetFromParents(cpusetDirectory, floors[cpusetDirectory]!);
    cgroup.setLimits(limits);
    if (devices) {
      // Both where both exist: the kernel checks the eBPF programs and the v1 list alike.
      if (!directories.devices && !directories[UNIFIED]) throw unsupportedController('devices', where);
      if (directories.devices) applyV1DeviceRules(directories.devices, devices);
      if (directories[UNIFIED]) attachDeviceFilter(directories[UNIFIED], devices);
    }
    return cgroup;
  } catch (error) {
    for (const directory of created.reverse()) removeCgroupDirectory(directory, floors[directory]);
    throw error;
  }
}

/** The v1 cgroup a running process is in (its directory in each managed hierarchy). */
export function v1CgroupOfProcess(layout: CgroupLayout, procCgroupText: string, where: string): CgroupV1 {
  const lines = procCgroupText.split('\n').map((line) => line.split(':'));
  const directories: V1Directories = {};
  let primaryPath = '/';
  for (const controller of V1_MANAGED) {
    const hierarchy = hierarchyFor(layout, controller);
    const line = lines.find((fields) => fields.length >= 3 && fields[1]!.split(',').includes(controller));
    if (!hierarchy || !line) continue;
    const cgroupPath = line.slice(2).join(':');
    const directory = directoryOf(hierarchy, cgroupPath);
    if (!directory) continue;
    directories[controller] = directory;
    if (controller === 'memory') primaryPath = cgroupPath;
  }
  const unifiedLine = lines.find((fields) => fields[0] === '0' && fields[1] === '');
  const unified = layout.v2 && unifiedLine ? directoryOf(layout.v2, unifiedLine.slice(2).join(':')) : null;
  if (unified) directories[UNIFIED] = unified;
  return new CgroupV1(primaryPath, directories, where);
}

/*
 * cgroup v2: one tree for every controller.
 *
 * In v2 a container is exactly one directory, and a process is in exactly one cgroup. The
 * controllers are not separate trees: a parent *enables* them for its children by writing
 * "+memory +cpu +pids" into its cgroup.subtree_control, and only then do the children get
 * memory.max, cpu.max, pids.max. So creating a limited cgroup means enabling the controllers on
 * every level from the top of the hierarchy down to the container's parent.
 *
 * The "no internal processes" rule: a cgroup that hands controllers to its children (a non-empty
 * cgroup.subtree_control) may not hold processes itself — resources are divided only among
 * leaves. The root cgroup is exempt. So when the agent's own cgroup still holds processes (the
 * agent itself, its shell…) and controllers must be enabled in it, the write fails with EBUSY.
 * The agent then moves the processes of its own cgroup into a leaf beside the containers,
 * `<own>/containers-lab-agent`, and enables the controllers afterwards. It does this only when the
 * write actually fails, and the moved processes stay under `<own>`, inside the same limits.
 *
 * Freezing and killing are part of v2's core, present in every non-root cgroup without enabling
 * anything: cgroup.freeze (write 1/0; cgroup.events says "frozen 1" once every task stopped) and
 * cgroup.kill (write 1: SIGKILL to every task in the subtree, atomically with respect to fork).
 *
 * Device access has no controller in v2: an eBPF program attached to the cgroup decides it
 * (./device-filter.ts; it goes when the directory is removed).
 *
 * Which file holds what (v2):
 *   memory.max ("max" = none), memory.swap.max, memory.current, memory.peak (newer kernels;
 *   absent on 6.1), memory.events ("oom_kill N"); cpu.max ("quota period" or "max period");
 *   cpu.stat ("usage_usec N", core: always present); pids.max, pids.current; cgroup.procs.
 */
import * as path from 'node:path';
import { SIGKILL } from '../../kernel/constants';
import { hasErrno } from '../../kernel/errors';
import { signalProcess } from '../../kernel/processes';
import { conflict } from '../../errors';
import type { CgroupLimits, CgroupRecord, CgroupUsage } from '../../protocol';
import {
  fileExists, makeDirectory, parseKeyedLines, readCgroupFile, readNumber, readOptional, readPids, removeIfUnused, waitUntil,
  writeCgroupFile,
} from './cgroupfs';
import { directoryOf, type Hierarchy } from './discovery';
import type { Cgroup } from './index';
import { DEFAULT_CPU_PERIOD_US, parseLimitValue, UNLIMITED, validateLimits } from './limits';
import { attachDeviceFilter } from './device-filter';
import type { DeviceRule } from './device-rules';
import {
  AGENT_LEAF, containerCgroupPath, controllersForLimits, deepestExisting, makeCgroupParents, ownCgroupFrom, removeCgroupDirectory, unsupportedController,
} from './placement';

/** The v2 controllers enabled for container cgroups (freeze and kill need none). */
export const V2_MANAGED = ['memory', 'cpu', 'pids'];

export class CgroupV2 implements Cgroup {
  readonly version = 2 as const;
  private lastLimits: CgroupLimits = UNLIMITED;
  /** Highest memory.current seen, for kernels without memory.peak (before 5.19). */
  private peakSeen = 0;

  /**
   * @param floor the agent's own cgroup: destroy() removes the emptied cgroups between it and this one.
   * @param recordFloor whether record() keeps it (a floor that is not the agent's own, see ./placement.ts deepestExisting).
   */
  constructor(
    readonly path: string, private readonly directory: string, private readonly where: string,
    private readonly floor?: string, private readonly recordFloor = false,
  ) {}

  private file(name: string): string {
    return path.join(this.directory, name);
  }

  /** A controller's limit file exists only when the parent enabled that controller for us. */
  private requireFile(controller: string, name: string): string {
    const file = this.file(name);
    if (!fileExists(file)) throw unsupportedController(controller, this.where);
    return file;
  }

  record(): CgroupRecord {
    const present = fileExists(this.directory);
    const files: Record<string, string> = {};
    const candidates: [string, string][] = [
      ['memory', 'memory.max'], ['memorySwap', 'memory.swap.max'], ['memoryCurrent', 'memory.current'],
      ['memoryPeak', 'memory.peak'], ['oomKills', 'memory.events'], ['cpu', 'cpu.max'], ['cpuUsage', 'cpu.stat'],
      ['pids', 'pids.max'], ['pidsCurrent', 'pids.current'], ['freeze', 'cgroup.freeze'], ['events', 'cgroup.events'],
      ['kill', 'cgroup.kill'], ['procs', 'cgroup.procs'],
    ];
    for (const [key, name] of candidates) if (!present || fileExists(this.file(name))) files[key] = this.file(name);
    return {
      version: 2,
      path: this.path,
      directories: { unified: this.directory },
      files,
      limits: present ? this.limits() : this.lastLimits,
      usage: present ? this.usage() : null,
      ...(this.floor && this.recordFloor ? { floors: { [this.directory]: this.floor } } : {}),
    };
  }

  setLimits(limits: CgroupLimits): void {
    validateLimits(limits);
    const fileFor: Record<string, string> = { memory: 'memory.max', cpu: 'cpu.max', pids: 'pids.max' };
    for (const controller of controllersForLimits(limits)) this.requireFile(controller, fileFor[controller]!);
    if (fileExists(this.file('memory.max'))) {
      writeCgroupFile(this.file('memory.max'), limits.memoryBytes === null ? 'max' : String(limits.memoryBytes));
      // No swap under a memory limit, so the limit means RAM and the OOM killer acts at it.
      const swap = this.file('memory.swap.max');
      if (fileExists(swap)) writeCgroupFile(swap, limits.memoryBytes === null ? 'max' : '0');
    }
    if (fileExists(this.file('cpu.max'))) {
      writeCgroupFile(this.file('cpu.max'), `${limits.cpuQuotaUs ?? 'max'} ${limits.cpuPeriodUs}`);
    }
    if (fileExists(this.file('pids.max'))) writeCgroupFile(this.file('pids.max'), limits.pids === null ? 'max' : String(limits.pids));
    this.lastLimits = { ...limits };
  }

  limits(): CgroupLimits {
    const [quota, period] = (readOptional(this.file('cpu.max')) ?? 'max').trim().split(/\s+/);
    return {
      memoryBytes: parseLimitValue(readOptional(this.file('memory.max'))),
      cpuQuotaUs: parseLimitValue(quota ?? 'max'),
      cpuPeriodUs: period ? Number(period) : DEFAULT_CPU_PERIOD_US,
      pids: parseLimitValue(readOptional(this.file('pids.max'))),
    };
  }

  oomKills(): number {
    return parseKeyedLines(readOptional(this.file('memory.events'))).get('oom_kill') ?? 0;
  }

  usage(): CgroupUsage {
    const current = readNumber(this.file('memory.current')) ?? 0;
    this.peakSeen = Math.max(this.peakSeen, current);
    const peak = readNumber(this.file('memory.peak'));
    const cpuStat = parseKeyedLines(readOptional(this.file('cpu.stat')));
    return {
      memoryCurrentBytes: current,
      memoryPeakBytes: peak ?? this.peakSeen,
      cpuUsageNs: (cpuStat.get('usage_usec') ?? 0) * 1000,
      pidsCurrent: readNumber(this.file('pids.current')) ?? 0,
      oomKills: this.oomKills(),
      frozen: this.frozen(),
    };
  }

  membershipFiles(): string[] {
    return [this.file('cgroup.procs')];
  }

  addProcess(pid: number): void {
    writeCgroupFile(this.file('cgroup.procs'), String(pid));
  }

  processes(): number[] {
    return readPids(this.file('cgroup.procs')).sort((a, b) => a - b);
  }

  private frozen(): boolean {
    return parseKeyedLines(readOptional(this.file('cgroup.events'))).get('frozen') === 1;
  }

  private setFrozen(frozen: boolean): void {
    writeCgroupFile(this.requireFile('freezer', 'cgroup.freeze'), frozen ? '1' : '0');
    // The write returns at once; cgroup.events reports when every task has actually stopped.
    if (!waitUntil(() => this.frozen() === frozen, 3000)) {
      throw conflict(`cgroup ${this.path} did not become ${frozen ? 'frozen' : 'thawed'} (cgroup.events: ${readCgroupFile(this.file('cgroup.events')).trim().replace(/\n/g, ', ')})`);
    }
  }

  freeze(): void {
    this.setFrozen(true);
  }

  thaw(): void {
    this.setFrozen(false);
  }

  killAll(): void {
    const kill = this.file('cgroup.kill');
    const hasKill = fileExists(kill);
    const deadline = Date.now() + 5000;
    for (;;) {
      const pids = this.processes();
      if (pids.length === 0) return;
      if (hasKill) {
        writeCgroupFile(kill, '1');
      } else {
        // Before 5.14: signal each task; a v2-frozen task still dies of SIGKILL, thaw anyway so
        // nothing is left waiting.
        for (const pid of pids) signalProcess(pid, SIGKILL);
        if (this.frozen()) writeCgroupFile(this.file('cgroup.freeze'), '0');
      }
      if (Date.now() >= deadline) throw conflict(`cgroup ${this.path} still has processes after SIGKILL: ${this.processes().join(', ')}`);
      waitUntil(() => this.processes().length === 0, 200);
    }
  }

  destroy(): void {
    removeCgroupDirectory(this.directory, this.floor);
  }
}

/** The directories from the mount's top down to `cgroupPath`, inclusive. */
function directoriesDownTo(hierarchy: Hierarchy, cgroupPath: string): string[] {
  const top = directoryOf(hierarchy, hierarchy.mountRoot)!;
  const target = directoryOf(hierarchy, cgroupPath)!;
  const chain = [target];
  while (chain[0] !== top && path.dirname(chain[0]!) !== chain[0]) chain.unshift(path.dirname(chain[0]!));
  return chain;
}

/**
 * Moves every process of `ownDirectory` into its AGENT_LEAF child, so that controllers can be
 * enabled in `ownDirectory` (see the "no internal processes" rule above).
 */
function moveProcessesToLeaf(ownDirectory: string): void {
  const leaf = path.join(ownDirectory, AGENT_LEAF);
  makeDirectory(leaf);
  const procs = path.join(ownDirectory, 'cgroup.procs');
  const emptied = waitUntil(() => {
    const pids = readPids(procs);
    for (const pid of pids) {
      try {
        writeCgroupFile(path.join(leaf, 'cgroup.procs'), String(pid));
      } catch (error) {
        if (!hasErrno(error, 'ESRCH')) throw error; // it exited meanwhile
      }
    }
    return readPids(procs).length === 0;
  }, 1000);
  if (!emptied) throw conflict(`cannot empty cgroup ${ownDirectory} to enable controllers in it: processes keep appearing`);
}

/** Enables `controllers` in subtree_control from the mount's top down to (and including) `parentPath`. */
function enableControllers(hierarchy: Hierarchy, ownPath: string, parentPath: string, controllers: string[]): void {
  if (controllers.length === 0) return;
  const top = directoryOf(hierarchy, hierarchy.mountRoot)!;
  const ownDirectory = directoryOf(hierarchy, ownPath)!;
  for (const directory of directoriesDownTo(hierarchy, parentPath)) {
    const file = path.join(directory, 'cgroup.subtree_control');
    const enabled = readCgroupFile(file).trim().split(/\s+/);
    const missing = controllers.filter((controller) => !enabled.includes(controller));
    if (missing.length === 0) continue;
    const request = missing.map((controller) => `+${controller}`).join(' ');
    try {
      writeCgroupFile(file, request);
    } catch (error) {
      if (!hasErrno(error, 'EBUSY') || directory === top) throw error;
      if (directory !== ownDirectory) {
        throw conflict(`cannot enable ${missing.join(', ')} in ${directory}: it holds processes, and cgroup v2 lets only a cgroup without processes hand controllers to its children`);
      }
      moveProcessesToLeaf(ownDirectory);
      writeCgroupFile(file, request);
    }
  }
}

/** The agent's own cgroup directory in the v2 tree: where destroy() stops removing emptied parents. */
export function v2Floor(hierarchy: Hierarchy): string | undefined {
  return directoryOf(hierarchy, ownCgroupFrom(hierarchy.ownPath)) ?? undefined;
}

/** Where `<own>/containers-lab/<name>` (or `<own>/<at>`, see ./placement.ts) is in the v2 tree. */
export function planV2Cgroup(hierarchy: Hierarchy, name: string, at?: string): { path: string; directory: string } {
  const cgroupPath = containerCgroupPath(ownCgroupFrom(hierarchy.ownPath), name, at);
  const directory = directoryOf(hierarchy, cgroupPath);
  if (!directory) throw conflict(`cgroup ${cgroupPath} is outside the cgroup2 mount at ${hierarchy.mountPoint} (mounted from ${hierarchy.mountRoot})`);
  return { path: cgroupPath, directory };
}

/**
 * Makes `<own>/containers-lab/<name>` (or `<own>/<at>`) in the v2 tree with `managed` controllers
 * enabled for it (those the hierarchy offers; `required` ones must be offered: a document's
 * hugepage limits or unified files need theirs); undoes what it made if any step fails.
 */
export function createV2Cgroup(
  hierarchy: Hierarchy, name: string, limits: CgroupLimits, devices: readonly DeviceRule[] | null, managed: string[], where: string,
  placement: { at?: string; required?: readonly string[]; keepExistingParents?: boolean } = {},
): CgroupV2 {
  const required = [...controllersForLimits(limits), ...(placement.required ?? [])];
  for (const controller of required) {
    if (!hierarchy.controllers.includes(controller)) throw unsupportedController(controller, where);
  }
  const own = ownCgroupFrom(hierarchy.ownPath);
  const floor = v2Floor(hierarchy);
  const { path: cgroupPath, directory } = planV2Cgroup(hierarchy, name, placement.at);
  const controllers = [...new Set([...managed, ...required])].filter((controller) => hierarchy.controllers.includes(controller));
  const removalFloor = floor && placement.keepExistingParents ? deepestExisting(directory, floor) : floor;
  const cgroup = new CgroupV2(cgroupPath, directory, where, removalFloor, placement.keepExistingParents === true);
  let made = false;
  try {
    if (!floor) throw conflict(`cgroup ${directory} is not below the agent's own cgroup`);
    // Every cgroup on the way is made first: each must hand the controllers down to the next.
    const parents = makeCgroupParents(directory, floor);
    try {
      enableControllers(hierarchy, own, path.posix.dirname(cgroupPath), controllers);
      made = makeDirectory(directory);
      if (!made) throw conflict(`cgroup ${directory} already exists`);
    } catch (error) {
      for (const parent of parents.reverse()) removeIfUnused(parent);
      throw error;
    }
    cgroup.setLimits(limits);
    // v2's device control: an eBPF program on the cgroup, removed with it (./device-filter.ts).
    if (devices) attachDeviceFilter(directory, devices);
    return cgroup;
  } catch (error) {
    if (made) removeCgroupDirectory(directory, removalFloor);
    throw error;
  }
}

/** The v2 cgroup a process is in, from its "0::/path" line. */
export function v2CgroupOfProcess(hierarchy: Hierarchy, procCgroupText: string, where: string): CgroupV2 | null {
  const line = procCgroupText.split('\n').find((entry) => entry.startsWith('0::'));
  if (!line) return null;
  const cgroupPath = line.slice(3);
  const directory = directoryOf(hierarchy, cgroupPath);
  return directory ? new CgroupV2(cgroupPath, directory, where) : null;
}

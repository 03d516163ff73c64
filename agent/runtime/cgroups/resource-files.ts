/*
 * config.json's linux.resources beyond the three limits every container can get from `run`
 * (memory.limit, cpu.quota/period, pids.limit — ./limits.ts) and the device rules
 * (./device-rules.ts): a memory reservation, CPU shares, a burst, swap, hugepage limits, raw
 * cgroup v2 files. Each is, for the kernel, one file in the container's cgroup — named differently
 * in v1 and v2, or missing from one of them:
 *
 *   field                    cgroup v1 (controller/file)          cgroup v2 (file)
 *   memory.reservation       memory/memory.soft_limit_in_bytes    memory.low
 *   memory.swap              memory/memory.memsw.limit_in_bytes   memory.swap.max (= swap − limit:
 *                            (memory + swap together)             v2 counts swap on its own)
 *   memory.kernel            ignored, with a warning (as runc 1.1): kernels dropped the kernel-memory
 *                            limit (memory.kmem.limit_in_bytes accepts a write and ignores it)
 *   memory.kernelTCP         memory/memory.kmem.tcp.limit_in_bytes ignored, with a warning (v2 counts
 *                                                                 socket memory in memory.max)
 *   memory.swappiness        memory/memory.swappiness             —
 *   memory.disableOOMKiller  memory/memory.oom_control ← 1        —
 *   memory.useHierarchy      true: what the kernel does anyway — current kernels are always
 *                            hierarchical (v1 ignores a written 0); false refused
 *   cpu.shares               cpu/cpu.shares                       cpu.weight (1…10000, converted as runc does)
 *   cpu.burst                cpu/cpu.cfs_burst_us                 cpu.max.burst
 *   cpu.realtimePeriod       cpu/cpu.rt_period_us                 —
 *   cpu.realtimeRuntime      cpu/cpu.rt_runtime_us                —
 *   cpu.idle                 cpu/cpu.idle                         cpu.idle
 *   cpu.cpus, cpu.mems       cpuset/cpuset.cpus, cpuset.mems      cpuset.cpus, cpuset.mems (./cpuset.ts)
 *   hugepageLimits[]         — (no hugetlb hierarchy is made)     hugetlb.<size>.max
 *   unified{file: value}     — (v2 only)                          <file>
 *
 * "—" is refused with one line naming the field, before anything is made; a file this kernel
 * lacks (cpu.rt_* exists only with CONFIG_RT_GROUP_SCHED) is refused when the cgroup exists,
 * and the container is undone. The writes come after the limits, so a unified "memory.max"
 * overrides memory.limit, as in runc.
 */
import * as path from 'node:path';
import { KernelError } from '../../kernel/errors';
import { configFieldError, unknownField, type UnknownFields } from '../../oci/validate';
import type { CgroupRecord, OciLinuxResources } from '../../protocol';
import { fileExists, writeCgroupFile } from './cgroupfs';

/** One file to write in the container's cgroup, and the field that asked for it. */
export interface ResourceWrite {
  at: (string | number)[];
  /** v1: the controller whose hierarchy has the file; v2: "unified". */
  controller: string;
  file: string;
  value: string;
}

export interface ResourcePlan {
  writes: ResourceWrite[];
  /** Controllers the writes need beyond memory, cpu and pids (v2: enabled; v1: cpuset's hierarchy joined). */
  required: string[];
  /** Fields accepted but not applied, each said once (runc's log has the same warning). */
  warnings: string[];
}

type Resources = NonNullable<OciLinuxResources>;
type Scalar = number | boolean;
/**
 * What one field becomes: [controller, file, value] to write, null for nothing to do, a refusal
 * phrase, or a field that is accepted and ignored with a warning.
 */
type Mapping = (value: Scalar, resources: Resources) => [string, string, string] | null | string | { ignored: string };

const ONLY_V1 = 'is not supported by this runtime on cgroup v2 (v2 has no such file)';
const NO_UPDATES = 'is not supported by this runtime: it applies to updating limits, which this runtime does not do';
const number = (value: Scalar): number => Number(value);
/** The kernel-memory limit left the kernel (5.16 deprecated it; the file stays, a no-op): runc 1.1 ignores it too. */
const KERNEL_MEMORY_IGNORED = { ignored: 'is ignored: this kernel no longer limits kernel memory on its own (memory.kmem.limit_in_bytes is deprecated and ignores a write)' };
/** A CPU or memory-node list as cpuset.cpus/cpuset.mems read it: "0", "0-3", "0,2-3". */
const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
const cpuList = (file: string) => (value: Scalar): [string, string, string] | null | string => {
  const text = String(value).trim();
  if (text === '') return null;
  return CPU_LIST.test(text) ? ['cpuset', file, text] : `${JSON.stringify(text.slice(0, 40))} is not a list like "0-3" or "0,2"`;
};

/** runc's conversion: shares 2…262144 onto weight 1…10000, linearly. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** Per field, its v1 and v2 mapping; the order is the order of the writes (period before runtime, as runc). */
const FIELDS: Record<'memory' | 'cpu', Record<string, { v1: Mapping; v2: Mapping } | 'limit' | string>> = {
  memory: {
    limit: 'limit',
    reservation: {
      v1: (v) => (number(v) > 0 ? ['memory', 'memory.soft_limit_in_bytes', String(v)] : null),
      v2: (v) => (number(v) > 0 ? ['memory', 'memory.low', String(v)] : null),
    },
    swap: {
      v1: (v, r) => swapProblem(number(v), r) ?? (number(v) === 0 ? null : ['memory', 'memory.memsw.limit_in_bytes', String(v)]),
      v2: (v, r) => swapProblem(number(v), r) ?? (number(v) === 0 ? null : ['memory', 'memory.swap.max', number(v) === -1 ? 'max' : String(number(v) - r.memory!.limit!)]),
    },
    kernel: { v1: () => KERNEL_MEMORY_IGNORED, v2: () => KERNEL_MEMORY_IGNORED },
    kernelTCP: {
      v1: (v) => ['memory', 'memory.kmem.tcp.limit_in_bytes', String(v)],
      v2: () => ({ ignored: 'is ignored on cgroup v2: socket memory is counted in memory.max, there is no limit of its own' }),
    },
    swappiness: {
      v1: (v) => (number(v) > 100 ? 'must be 0…100' : ['memory', 'memory.swappiness', String(v)]),
      v2: () => ONLY_V1,
    },
    disableOOMKiller: {
      v1: (v) => (v === true ? ['memory', 'memory.oom_control', '1'] : null),
      v2: (v) => (v === true ? 'is not supported by this runtime on cgroup v2 (v2 cannot switch the OOM killer off)' : null),
    },
    // v1's memory.use_hierarchy is fixed at 1 on current kernels: a written 0 is silently ignored.
    useHierarchy: {
      v1: (v) => (v === true ? null : 'false is not supported by this runtime: memory accounting is always hierarchical on this kernel'),
      v2: (v) => (v === true ? null : 'false is not supported by this runtime: memory accounting is always hierarchical on this kernel'),
    },
    checkBeforeUpdate: { v1: (v) => (v === true ? NO_UPDATES : null), v2: (v) => (v === true ? NO_UPDATES : null) },
  },
  cpu: {
    quota: 'limit',
    period: 'limit',
    shares: {
      v1: (v) => (number(v) > 0 ? ['cpu', 'cpu.shares', String(v)] : null),
      v2: (v) => (number(v) > 0 ? ['cpu', 'cpu.weight', String(sharesToWeight(number(v)))] : null),
    },
    burst: { v1: (v) => ['cpu', 'cpu.cfs_burst_us', String(v)], v2: (v) => ['cpu', 'cpu.max.burst', String(v)] },
    realtimePeriod: { v1: (v) => ['cpu', 'cpu.rt_period_us', String(v)], v2: () => ONLY_V1 },
    realtimeRuntime: { v1: (v) => ['cpu', 'cpu.rt_runtime_us', String(v)], v2: () => ONLY_V1 },
    idle: { v1: (v) => ['cpu', 'cpu.idle', String(v)], v2: (v) => ['cpu', 'cpu.idle', String(v)] },
    cpus: { v1: cpuList('cpuset.cpus'), v2: cpuList('cpuset.cpus') },
    mems: { v1: cpuList('cpuset.mems'), v2: cpuList('cpuset.mems') },
  },
};

/** Whole groups this runtime does not realise, with the reason a learner reads. */
const REFUSED: Record<string, string> = {
  blockIO: 'is not supported by this runtime: the blkio/io controller is not made for containers',
  network: 'is not supported by this runtime: net_cls/net_prio are cgroup v1 controllers it does not make',
  rdma: 'is not supported by this runtime: the rdma controller is not made for containers',
};

/** Handled elsewhere: the limits (./limits.ts via limitsFromConfig) and the device rules. */
const ELSEWHERE = new Set(['memory', 'cpu', 'pids', 'devices']);

function swapProblem(swap: number, resources: Resources): string | null {
  if (swap === 0) return null;
  const limit = resources.memory?.limit ?? 0;
  if (limit <= 0) return 'needs memory.limit: swap is counted on top of a memory limit';
  if (swap !== -1 && swap < limit) return `must be -1 (unlimited) or at least memory.limit (${limit}): it counts memory and swap together`;
  return null;
}

/**
 * The cgroup files `resources` asks for on a host whose containers use cgroup `version`, whose v2
 * hierarchy offers `offered` controllers. Throws a one-line refusal naming the first field it
 * cannot realise; a field runtime-spec 1.1 does not define is refused or ignored, as `unknown` says.
 */
export function resourcePlanFor(resources: OciLinuxResources | undefined, version: 1 | 2, offered: readonly string[], unknown: UnknownFields = 'refuse'): ResourcePlan {
  const plan: ResourcePlan = { writes: [], required: [], warnings: [] };
  if (!resources) return plan;
  const at = (...rest: (string | number)[]): (string | number)[] => ['linux', 'resources', ...rest];
  for (const key of Object.keys(resources)) {
    const refusal = REFUSED[key];
    if (refusal !== undefined) {
      if (!isEmpty((resources as Record<string, unknown>)[key])) throw configFieldError(at(key), refusal);
    } else if (!ELSEWHERE.has(key) && key !== 'hugepageLimits' && key !== 'unified') {
      unknownField(at(key), unknown, plan.warnings);
    }
  }
  for (const group of ['memory', 'cpu'] as const) {
    const values = (resources[group] ?? {}) as Record<string, Scalar | string | undefined>;
    for (const key of Object.keys(values)) {
      if (!(key in FIELDS[group])) unknownField(at(group, key), unknown, plan.warnings);
    }
    for (const [key, rule] of Object.entries(FIELDS[group])) {
      const value = values[key];
      if (value === undefined || rule === 'limit') continue;
      if (typeof rule === 'string') {
        if (!isEmpty(value)) throw configFieldError(at(group, key), rule);
        continue;
      }
      const mapped = (version === 1 ? rule.v1 : rule.v2)(value as Scalar, resources);
      if (typeof mapped === 'string') throw configFieldError(at(group, key), mapped);
      if (mapped && !Array.isArray(mapped)) {
        if (!isEmpty(value)) plan.warnings.push(`linux.resources.${group}.${key} ${mapped.ignored}`);
        continue;
      }
      if (!mapped) continue;
      if (mapped[0] === 'cpuset') {
        // v1: the cpuset hierarchy is joined on demand; v2: the controller is enabled down to the container.
        if (version === 2) needController(plan, offered, 'cpuset', at(group, key));
        else if (!plan.required.includes('cpuset')) plan.required.push('cpuset');
      }
      plan.writes.push({ at: at(group, key), controller: version === 1 ? mapped[0] : 'unified', file: mapped[1], value: mapped[2] });
    }
  }
  (resources.hugepageLimits ?? []).forEach((entry, index) => {
    if (version === 1) throw configFieldError(at('hugepageLimits'), 'is not supported by this runtime on cgroup v1: no hugetlb hierarchy is made for containers');
    needController(plan, offered, 'hugetlb', at('hugepageLimits', index));
    plan.writes.push({ at: at('hugepageLimits', index), controller: 'unified', file: `hugetlb.${entry.pageSize}.max`, value: String(entry.limit) });
  });
  for (const [file, value] of Object.entries(resources.unified ?? {})) {
    if (version === 1) throw configFieldError(at('unified'), 'needs cgroup v2: this host\'s containers use cgroup v1');
    const controller = unifiedController(file);
    if (typeof controller !== 'string') throw configFieldError(at('unified', file), controller.problem);
    if (controller !== 'cgroup') needController(plan, offered, controller, at('unified', file));
    plan.writes.push({ at: at('unified', file), controller: 'unified', file, value });
  }
  return plan;
}

function needController(plan: ResourcePlan, offered: readonly string[], controller: string, at: (string | number)[]): void {
  if (!offered.includes(controller)) throw configFieldError(at, `needs the ${controller} controller, which this host's cgroup v2 does not offer (${offered.join(', ') || 'none'})`);
  if (!['memory', 'cpu', 'pids'].includes(controller) && !plan.required.includes(controller)) plan.required.push(controller);
}

/** The cgroup files the runtime itself drives: a document may not write them. */
const RUNTIME_OWNED = new Set(['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control', 'cgroup.freeze', 'cgroup.kill', 'cgroup.type']);

/** "memory.high" → "memory": the controller a unified key belongs to (its file name's prefix). */
function unifiedController(file: string): string | { problem: string } {
  if (!/^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/.test(file)) return { problem: 'is not a cgroup file name (controller.file, no "/")' };
  if (RUNTIME_OWNED.has(file)) return { problem: 'is a file the runtime itself drives' };
  return file.slice(0, file.indexOf('.'));
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '' || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/**
 * Writes the planned files into the container's cgroup (its directories from `record`). A file
 * this kernel lacks, or a value it refuses, is one line naming the field; the caller undoes the
 * cgroup.
 */
export function applyResourceWrites(record: CgroupRecord, writes: readonly ResourceWrite[]): void {
  for (const write of writes) {
    const directory = record.directories[write.controller];
    const file = directory ? path.join(directory, write.file) : null;
    if (!file || !fileExists(file)) throw configFieldError(write.at, `needs ${write.file}, which this host's cgroups do not have`);
    try {
      writeCgroupFile(file, write.value);
    } catch (error) {
      if (!(error instanceof KernelError)) throw error;
      throw configFieldError(write.at, `was refused by the kernel: ${write.file} ← "${write.value}" gave ${error.code}`);
    }
  }
}

/*
 * Resource limits: what a user asks for ("--memory 64m --cpus 0.5 --pids 64") and what the
 * kernel's cgroup files accept.
 *
 * A cgroup limits a group of processes through its controllers:
 *   - memory: a byte ceiling on the group's RAM (page cache included). Past it the kernel first
 *     reclaims, then its OOM killer SIGKILLs a process of the group — exit 137 in a shell.
 *     v1: memory.limit_in_bytes (+ memory.memsw.limit_in_bytes for RAM+swap); v2: memory.max
 *     (+ memory.swap.max). "Unlimited" is -1 in v1 and "max" in v2.
 *   - cpu: CFS bandwidth — the group may run `quota` microseconds of CPU time in every `period`
 *     microseconds, summed over all CPUs; 50000/100000 is half a CPU ("--cpus 0.5").
 *     v1: cpu.cfs_quota_us and cpu.cfs_period_us; v2: one file, cpu.max = "quota period".
 *   - pids: the most tasks (processes and threads) the group may hold; fork() beyond it fails
 *     with EAGAIN, which is what stops a fork bomb. v1 and v2: pids.max.
 * This file checks requested limits before anything is created (so a bad request leaves no
 * half-made cgroup); the user's spellings ("64m", --cpus 0.5) are read in agent/oci.
 */
import { badInput } from '../../errors';
import type { CgroupLimits } from '../../protocol';

import { DEFAULT_CPU_PERIOD_US, MAX_CPU_PERIOD_US, MAX_PIDS, MIN_CPU_PERIOD_US, MIN_CPU_QUOTA_US, MIN_MEMORY_BYTES } from '../../protocol/limit-bounds';

// The bounds are the protocol's (the extension checks a form against them too); kept under these names for callers.
export { DEFAULT_CPU_PERIOD_US, MAX_CPU_PERIOD_US, MAX_PIDS, MIN_CPU_PERIOD_US, MIN_CPU_QUOTA_US, MIN_MEMORY_BYTES };

export const UNLIMITED: CgroupLimits = { memoryBytes: null, cpuQuotaUs: null, cpuPeriodUs: DEFAULT_CPU_PERIOD_US, pids: null };

function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Throws a one-line badInput naming the first malformed or absurd limit. */
export function validateLimits(limits: CgroupLimits): void {
  if (typeof limits !== 'object' || limits === null) throw badInput('cgroup limits must be an object');
  const { memoryBytes, cpuQuotaUs, cpuPeriodUs, pids } = limits;
  if (memoryBytes !== null) {
    if (!isWholeNumber(memoryBytes)) throw badInput(`invalid memory limit ${String(memoryBytes)}: expected a whole number of bytes`);
    if (memoryBytes < MIN_MEMORY_BYTES) throw badInput(`memory limit ${memoryBytes} bytes is too small: the minimum is 4 MiB (${MIN_MEMORY_BYTES})`);
  }
  if (!isWholeNumber(cpuPeriodUs) || cpuPeriodUs < MIN_CPU_PERIOD_US || cpuPeriodUs > MAX_CPU_PERIOD_US) {
    throw badInput(`invalid cpu period ${String(cpuPeriodUs)}: expected ${MIN_CPU_PERIOD_US}…${MAX_CPU_PERIOD_US} microseconds`);
  }
  if (cpuQuotaUs !== null) {
    if (!isWholeNumber(cpuQuotaUs)) throw badInput(`invalid cpu quota ${String(cpuQuotaUs)}: expected whole microseconds`);
    if (cpuQuotaUs < MIN_CPU_QUOTA_US) throw badInput(`cpu quota ${cpuQuotaUs}us is too small: the kernel's minimum is ${MIN_CPU_QUOTA_US}us`);
    // More CPUs than any machine has is a typo (and the kernel caps the quota near 2^44 us).
    if (cpuQuotaUs > cpuPeriodUs * 4096) throw badInput(`cpu quota ${cpuQuotaUs}us per ${cpuPeriodUs}us asks for more than 4096 CPUs`);
  }
  if (pids !== null) {
    if (!isWholeNumber(pids)) throw badInput(`invalid pids limit ${String(pids)}: expected a whole number`);
    if (pids < 1 || pids > MAX_PIDS) throw badInput(`pids limit ${pids} is out of range: expected 1…${MAX_PIDS}`);
  }
}

/** v1 writes "unlimited" as -1 and reads it back as a huge page-aligned number; v2 says "max". */
export function parseLimitValue(text: string | null): number | null {
  if (text === null) return null;
  const value = text.trim();
  if (value === 'max' || value === '-1' || value === '') return null;
  const number = Number(value);
  // PAGE_COUNTER_MAX × page size (9223372036854771712 on x86-64) means "no limit".
  return number >= 2 ** 62 ? null : number;
}

/*
 * Accounting: what a cgroup has used, read from the files the kernel keeps for it — the same
 * numbers `kubectl top` and the kubelet's eviction manager read (through cAdvisor). CPU time is
 * cumulative (v1 cpuacct.usage in ns, v2 cpu.stat usage_usec); memory is what is charged now
 * (v1 memory.usage_in_bytes, v2 memory.current). The freezer state is v1 freezer.state
 * (THAWED/FREEZING/FROZEN) or v2 cgroup.freeze (1 asked for; cgroup.events says when it is so).
 */
import { readFileSync } from 'node:fs';
import type { CgroupRecord } from '../../protocol';
import { CheckFailed } from './outcome';

function read(file: string | undefined, what: string): string {
  if (!file) throw new CheckFailed(`the container's cgroup has no ${what} file`);
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new CheckFailed(`cannot read ${file}`);
  }
}

/** Cumulative CPU time in ns. */
export function cpuUsageNs(cgroup: CgroupRecord): number {
  const text = read(cgroup.files.cpuUsage, 'CPU usage');
  if (cgroup.version === 1) return Number(text.trim());
  const usec = /^usage_usec\s+(\d+)/m.exec(text)?.[1];
  return Number(usec ?? 0) * 1000;
}

/** Bytes charged to the cgroup now. */
export function memoryUsage(cgroup: CgroupRecord): number {
  return Number(read(cgroup.files.memoryCurrent, 'memory usage').trim());
}

/** The freezer file of the cgroup (what a learner writes to freeze or thaw it). */
export function freezerFile(cgroup: CgroupRecord): string {
  const file = cgroup.files.freezer ?? cgroup.files.freeze;
  if (!file) throw new CheckFailed('the container\'s cgroup has no freezer');
  return file;
}

/** Whether the kernel holds the cgroup frozen (or freezing) now. */
export function isFrozen(cgroup: CgroupRecord): boolean {
  const state = read(freezerFile(cgroup), 'freezer').trim();
  return cgroup.files.freezer ? state !== 'THAWED' : state === '1';
}

/** The directory holding the cgroup's cpu controller files (cpu.shares on v1, cpu.weight on v2). */
export function cpuDirectory(cgroup: CgroupRecord): string {
  const directory = cgroup.directories.cpu ?? cgroup.directories.unified;
  if (!directory) throw new CheckFailed('the container\'s cgroup has no cpu controller');
  return directory;
}

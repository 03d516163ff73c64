/*
 * Check "cgroup-limit": the limits the kernel enforces, read from the cgroup's own files.
 * cgroup v2 keeps them in one directory (memory.max, cpu.max = "quota period", pids.max); v1 has
 * a hierarchy per controller (memory.limit_in_bytes, cpu.cfs_quota_us + cpu.cfs_period_us,
 * pids.max). "max" (v2) or a huge number (v1) means unlimited. Kubernetes' resources.limits
 * become exactly these files.
 */
import { readFileSync } from 'node:fs';
import type { CgroupRecord } from '../../protocol';
import { parseCpuQuantity, parseMemoryQuantity } from '../../protocol/quantity';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, existing, failIf } from './outcome';

/** v1 writes "unlimited" as the largest page-aligned signed 64-bit value. */
const UNLIMITED_V1 = 2 ** 62;

function read(file: string | undefined, what: string): string {
  if (!file) throw new CheckFailed(`the container's cgroup has no ${what} file`);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new CheckFailed(`cannot read ${file}`);
  }
}

/** Bytes, or null for unlimited. */
export function memoryLimit(cgroup: CgroupRecord): number | null {
  const text = read(cgroup.files.memory, 'memory limit');
  if (text === 'max') return null;
  const value = Number(text);
  return value >= UNLIMITED_V1 ? null : value;
}

/** CPUs (quota / period), or null for unlimited. */
export function cpuLimit(cgroup: CgroupRecord): number | null {
  if (cgroup.version === 2) {
    const [quota, period] = read(cgroup.files.cpu, 'cpu.max').split(/\s+/);
    return quota === 'max' ? null : Number(quota) / Number(period);
  }
  const quota = Number(read(cgroup.files.cpuQuota, 'cpu.cfs_quota_us'));
  return quota < 0 ? null : quota / Number(read(cgroup.files.cpuPeriod, 'cpu.cfs_period_us'));
}

export function pidsLimit(cgroup: CgroupRecord): number | null {
  const text = read(cgroup.files.pids, 'pids.max');
  return text === 'max' ? null : Number(text);
}

const mib = (bytes: number | null): string => (bytes === null ? 'unlimited' : `${bytes} bytes (${(bytes / 1048576).toFixed(1)} MiB)`);

export function checkCgroupLimit(params: CheckParamsByKind['cgroup-limit'], context: LabContext): void {
  const record = existing(context, params.container);
  const cgroup = record.cgroup;
  if (!cgroup) throw new CheckFailed(`"${params.container}" has no cgroup`);
  const where = (key: string): string => (cgroup.files[key] ? ` in ${cgroup.files[key]}` : '');
  if (params.memory !== undefined) {
    const memory = memoryLimit(cgroup);
    failIf(memory !== parseMemoryQuantity(params.memory), `memory limit is ${mib(memory)}${where('memory')}`);
  }
  if (params.memoryAtLeast !== undefined) {
    const memory = memoryLimit(cgroup);
    // "At least" a limit is still a limit: no limit at all is not an answer to "give it 256m".
    failIf(memory === null || memory < parseMemoryQuantity(params.memoryAtLeast), `memory limit is ${mib(memory)}${where('memory')}`);
  }
  if (params.memoryAtMost !== undefined) {
    // Right-sizing: a limit far above what the job needs wastes what the node could give others.
    const memory = memoryLimit(cgroup);
    failIf(memory === null || memory > parseMemoryQuantity(params.memoryAtMost), `memory limit is ${mib(memory)}${where('memory')}`);
  }
  if (params.unlimitedMemory !== undefined) {
    const memory = memoryLimit(cgroup);
    failIf((memory === null) !== params.unlimitedMemory, `memory limit is ${mib(memory)}`);
  }
  if (params.cpus !== undefined) {
    const cpus = cpuLimit(cgroup);
    failIf(cpus === null || Math.abs(cpus - parseCpuQuantity(params.cpus)) > 0.001, `CPU limit is ${cpus === null ? 'unlimited' : `${cpus} CPUs`}${where(cgroup.version === 2 ? 'cpu' : 'cpuQuota')}`);
  }
  if (params.pids !== undefined) {
    const pids = pidsLimit(cgroup);
    failIf(pids !== params.pids, `pids limit is ${pids ?? 'unlimited'}${where('pids')}`);
  }
}

/*
 * The pod's own cgroup (kubepods/<qos>/pod<uid>), the parent of its containers' cgroups: the
 * kubelet gives it cpu shares from the sum of the requests and, when every container has one,
 * the sum of the memory and CPU limits. The runtime made the directory with the sandbox; this
 * writes those values into it (cgroup v1: cpu.shares, cpu.cfs_quota_us, memory.limit_in_bytes;
 * v2: cpu.weight, cpu.max, memory.max).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CgroupRecord } from '../../protocol';
import { sharesToWeight } from '../../runtime/cgroups/resource-files';
import { CPU_PERIOD_US } from '../../oci/from-run-options';

export interface PodCgroupValues {
  shares: number;
  memoryLimit: number | null;
  cpuQuotaMilli: number | null;
}

/** Writes the values into the parent of the sandbox's cgroup; returns the files written. */
export function writePodCgroup(sandbox: CgroupRecord, values: PodCgroupValues): string[] {
  const written: string[] = [];
  const write = (file: string, value: string): void => {
    writeFileSync(file, value);
    written.push(file);
  };
  const quota = values.cpuQuotaMilli !== null ? Math.round((values.cpuQuotaMilli * CPU_PERIOD_US) / 1000) : null;
  if (sandbox.version === 2) {
    const pod = dirname(sandbox.directories.unified!);
    write(join(pod, 'cpu.weight'), String(sharesToWeight(values.shares)));
    if (quota !== null) write(join(pod, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
    if (values.memoryLimit !== null) write(join(pod, 'memory.max'), String(values.memoryLimit));
    return written;
  }
  const cpu = sandbox.directories.cpu;
  const memory = sandbox.directories.memory;
  if (cpu) {
    write(join(dirname(cpu), 'cpu.shares'), String(values.shares));
    if (quota !== null) {
      write(join(dirname(cpu), 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      write(join(dirname(cpu), 'cpu.cfs_quota_us'), String(quota));
    }
  }
  if (memory && values.memoryLimit !== null) write(join(dirname(memory), 'memory.limit_in_bytes'), String(values.memoryLimit));
  return written;
}

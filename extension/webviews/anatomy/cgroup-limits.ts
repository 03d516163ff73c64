/*
 * A cgroup limit is a number in a file. The kernel enforces memory.max (v1:
 * memory.limit_in_bytes), cpu.max (v1: cpu.cfs_quota_us over cpu.cfs_period_us) and pids.max;
 * writing the file is all `docker run --memory` ever does. This module names, for each limit, the
 * file that holds it and the text the kernel shows in that file now (from the agent's record, which
 * reads those files each time it is built). Shared by the Anatomy and Manifests views.
 */
import type { CgroupRecord } from '../../../agent/protocol';
import { formatBytes } from '../../views/containers/model';

export type LimitName = 'memory' | 'cpu' | 'pids';

export interface CgroupLimitFile {
  name: LimitName;
  /** Absolute path of the file; null when this cgroup hierarchy has no such controller. */
  file: string | null;
  /** The file's content as the kernel shows it ("67108864", "50000 100000", "max"). */
  value: string;
  /** What the value means, for people: "64 MiB", "0.5 CPU", "unlimited". */
  meaning: string;
}

/* The "no limit" text of each file: v2 writes "max"; v1 memory shows the largest page-aligned
 * number, which the record reports as null, so we say "unlimited" rather than invent digits. */
function unlimited(version: 1 | 2, name: LimitName): string {
  if (version === 2) return 'max';
  return name === 'cpu' ? '-1' : name === 'pids' ? 'max' : 'unlimited';
}

export function cgroupLimitFiles(cgroup: CgroupRecord): CgroupLimitFile[] {
  const { limits, files, version } = cgroup;
  const memory: CgroupLimitFile = {
    name: 'memory',
    file: files.memory ?? null,
    value: limits.memoryBytes === null ? unlimited(version, 'memory') : String(limits.memoryBytes),
    meaning: limits.memoryBytes === null ? 'unlimited' : formatBytes(limits.memoryBytes),
  };
  const quota = limits.cpuQuotaUs === null ? unlimited(version, 'cpu') : String(limits.cpuQuotaUs);
  const cpu: CgroupLimitFile = {
    name: 'cpu',
    // v2 keeps quota and period in one file ("50000 100000"); v1 has cpu.cfs_quota_us on its own.
    file: (version === 2 ? files.cpu : files.cpuQuota) ?? null,
    value: version === 2 ? `${quota} ${limits.cpuPeriodUs}` : quota,
    meaning: limits.cpuQuotaUs === null ? 'unlimited' : `${trimNumber(limits.cpuQuotaUs / limits.cpuPeriodUs)} CPU (${limits.cpuQuotaUs} µs of every ${limits.cpuPeriodUs} µs)`,
  };
  const pids: CgroupLimitFile = {
    name: 'pids',
    file: files.pids ?? null,
    value: limits.pids === null ? unlimited(version, 'pids') : String(limits.pids),
    meaning: limits.pids === null ? 'unlimited' : `${limits.pids} processes`,
  };
  return [memory, cpu, pids];
}

function trimNumber(value: number): string {
  return String(Number(value.toFixed(3)));
}

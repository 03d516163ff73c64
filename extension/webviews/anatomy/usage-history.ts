/*
 * Live usage, sample by sample. The kernel keeps running totals in the cgroup's files —
 * memory.current (bytes now), cpu.stat usage_usec / cpuacct.usage (CPU time ever used),
 * pids.current, and the count of OOM kills in memory.events (v1: memory.oom_control) — so a chart
 * of "CPU in use" is a rate: the CPU time used between two samples divided by the wall time
 * between them (1 s of CPU per 1 s = one whole CPU busy). An OOM event is a sample where the OOM
 * kill counter went up.
 */
import type { CgroupUsage } from '../../../agent/protocol';

export interface UsageSample {
  /** Milliseconds since the epoch, when the record was read. */
  at: number;
  memoryBytes: number;
  /** CPUs in use over the interval before this sample; null for the first sample. */
  cpuRate: number | null;
  pids: number;
  oomKills: number;
  /** The OOM kill counter went up since the previous sample: mark it on the memory chart. */
  oomEvent: boolean;
}

export class UsageHistory {
  private readonly samples: UsageSample[] = [];
  private lastCpuNs: number | null = null;

  constructor(private readonly capacity = 60) {}

  add(usage: CgroupUsage, at: number): UsageSample {
    const previous = this.samples[this.samples.length - 1];
    let cpuRate: number | null = null;
    if (previous && this.lastCpuNs !== null && at > previous.at) {
      // A counter that went down means a new cgroup (the container was restarted): no rate yet.
      const used = usage.cpuUsageNs - this.lastCpuNs;
      cpuRate = used >= 0 ? used / ((at - previous.at) * 1e6) : null;
    }
    const sample: UsageSample = {
      at,
      memoryBytes: usage.memoryCurrentBytes,
      cpuRate,
      pids: usage.pidsCurrent,
      oomKills: usage.oomKills,
      oomEvent: previous !== undefined && usage.oomKills > previous.oomKills,
    };
    this.lastCpuNs = usage.cpuUsageNs;
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.shift();
    return sample;
  }

  list(): UsageSample[] {
    return [...this.samples];
  }
}

/*
 * events [--stats] [--interval SECONDS] ID: the container's resource usage from its cgroup as
 * runc's JSON event, {"type":"stats","id":…,"data":{…}} — once with --stats, else one line per
 * interval (default 5 s) until the container stops.
 */
import type { Cgroup } from '../runtime/cgroups';
import { RuncError } from './errors';
import { flag, parseFlags, requireId } from './flags';
import type { Invocation } from './verb';

export async function events(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, [{ name: 'stats', kind: 'bool' }, { name: 'interval', kind: 'string' }]);
  const id = requireId('events', parsed.positionals);
  const { root } = invocation;
  const first = root.load(id);
  if (first.status === 'stopped') throw new RuncError('container not running');
  const cgroup = root.cgroupOf(first.state);
  if (!cgroup) throw new RuncError(`container ${id} has no cgroup`);
  const print = (): void => {
    process.stdout.write(`${JSON.stringify({ type: 'stats', id, data: statsOf(cgroup) })}\n`);
  };
  if (flag.bool(parsed, 'stats')) {
    print();
    return 0;
  }
  const text = flag.string(parsed, 'interval') ?? '5';
  const seconds = Number(text.replace(/s$/, ''));
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RuncError(`invalid --interval ${text}`);
  for (;;) {
    print();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    if (root.load(id).status === 'stopped') return 0;
  }
}

function statsOf(cgroup: Cgroup): Record<string, unknown> {
  const usage = cgroup.usage();
  const limits = cgroup.limits();
  return {
    cpu: { usage: { total: usage.cpuUsageNs } },
    memory: { usage: { usage: usage.memoryCurrentBytes, max: usage.memoryPeakBytes, limit: limits.memoryBytes ?? 0, failcnt: usage.oomKills } },
    pids: { current: usage.pidsCurrent, limit: limits.pids ?? 0 },
  };
}

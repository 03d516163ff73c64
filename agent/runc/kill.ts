/*
 * kill [--all] ID [SIGNAL]: a signal (default SIGTERM) to the container's first process, or with
 * --all to every process in its cgroup. A created container (waiting on its FIFO) can be killed;
 * a stopped one cannot ("container not running").
 */
import { signalProcess } from '../kernel/processes';
import { RuncError } from './errors';
import { flag, parseFlags, requireId } from './flags';
import { parseSignal } from './signals';
import type { Invocation } from './verb';

export async function kill(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, [{ name: 'all', alias: 'a', kind: 'bool' }], false);
  const id = requireId('kill', parsed.positionals, 1);
  const signal = parseSignal(parsed.positionals[1] ?? 'SIGTERM');
  const { root } = invocation;
  root.lock(id, { anyNumber: true });
  const container = root.load(id);
  if (container.status === 'stopped' || container.status === 'creating') throw new RuncError('container not running');
  if (flag.bool(parsed, 'all')) {
    const cgroup = root.cgroupOf(container.state);
    const members = cgroup ? cgroup.processes() : [container.state.pid!];
    // A frozen process would not act on the signal until thawed; runc sends it all the same.
    for (const pid of members) signalProcess(pid, signal);
    return 0;
  }
  if (!signalProcess(container.state.pid!, signal)) throw new RuncError('container not running');
  return 0;
}

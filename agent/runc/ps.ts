/*
 * ps [--format table|json] ID: the processes in the container's cgroup — as JSON, the list of
 * host PIDs containerd's shim reads; as a table, `ps -ef`'s lines for those PIDs.
 */
import { spawnSync } from 'node:child_process';
import { RuncError } from './errors';
import { flag, parseFlags, requireId } from './flags';
import type { Invocation } from './verb';

export async function ps(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, [{ name: 'format', alias: 'f', kind: 'string' }]);
  const id = requireId('ps', parsed.positionals.slice(0, 1));
  const format = flag.string(parsed, 'format') ?? 'table';
  if (format !== 'table' && format !== 'json') throw new RuncError(`invalid format option: ${format}`);
  const container = invocation.root.load(id);
  if (container.status === 'stopped') throw new RuncError('container not running');
  const cgroup = invocation.root.cgroupOf(container.state);
  const pids = (cgroup ? cgroup.processes() : [container.state.pid!]).sort((a, b) => a - b);
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(pids)}\n`);
    return 0;
  }
  const table = spawnSync('ps', ['-o', 'uid,pid,ppid,c,stime,tty,time,cmd', '-p', pids.join(',') || '0'], { encoding: 'utf8' });
  process.stdout.write(table.stdout);
  return 0;
}

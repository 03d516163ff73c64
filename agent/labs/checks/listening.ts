/*
 * Check "listening": which process serves a port — what `ss -ltnp` answers. The kernel lists the
 * TCP sockets of a network namespace in /proc/<pid>/net/tcp (and tcp6) for any process in it:
 * state 0A is LISTEN, the local port is hex after the colon, and the last-but-some column is the
 * socket's inode. A process holds that socket when one of its /proc/<pid>/fd links reads
 * "socket:[inode]". Containers of a pod share one network namespace, so "the port answers" does
 * not say *which* container serves it; this does.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, failIf, running } from './outcome';

const LISTEN = '0A';

/** Inodes of the sockets listening on `port` in the network namespace of `pid`. */
export function listeningInodes(pid: number, port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const localPort = parseInt(fields[1]?.split(':').pop() ?? '', 16);
      if (fields[3] === LISTEN && localPort === port && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        return target.startsWith('socket:[') && inodes.has(target.slice(8, -1));
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

export function checkListening(params: CheckParamsByKind['listening'], context: LabContext): void {
  const record = running(context, params.container);
  const inodes = listeningInodes(record.pid, params.port);
  failIf(inodes.size === 0, `nothing listens on TCP port ${params.port} in the network namespace of "${params.container}"`);
  if (record.processes.some((process) => holdsSocket(process.pid, inodes))) return;
  // Someone else in the same network namespace serves it: say who.
  for (const summary of context.runtime.list()) {
    if (summary.pid === null || summary.id === record.id) continue;
    const other = context.runtime.inspect(summary.id);
    const holder = other.processes.find((process) => holdsSocket(process.pid, inodes));
    if (holder) throw new CheckFailed(`port ${params.port} is served by "${other.name}" (${holder.command}), not by "${params.container}"`);
  }
  throw new CheckFailed(`port ${params.port} is served by no process of "${params.container}"`);
}

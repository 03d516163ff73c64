/*
 * --preserve-fds N (create, run, exec): the caller's descriptors 3 … 3+N-1 go to the container's
 * program at the same numbers, as systemd's socket activation hands over LISTEN_FDS sockets. The
 * child keeps them past its close_range and clears their close-on-exec flag
 * (../runtime/process/launch.ts LaunchPlan.preserveFds).
 */
import { readlinkSync } from 'node:fs';
import { RuncError } from './errors';

/**
 * --preserve-fds N: the caller's descriptors 3 … 3+N-1 go to the container's program at the same
 * numbers. Each must be one the caller passed, or the container would get one of this runtime's
 * own: Node opens its own descriptors at the lowest free numbers before any of this runs, the
 * first of them its event loop's epoll instance — so the caller's are those below that one.
 */
export function preservedCount(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value)) throw new RuncError(`invalid value "${value}" for flag --preserve-fds: not a number`);
  const count = Number(value);
  let runtimesOwn = false;
  for (let fd = 3; fd < 3 + count; fd += 1) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      throw new RuncError(`--preserve-fds ${count}: descriptor ${fd} is not open`);
    }
    runtimesOwn ||= link === 'anon_inode:[eventpoll]';
    if (runtimesOwn) throw new RuncError(`--preserve-fds ${count}: descriptor ${fd} is not one the caller passed (it is the runtime's own)`);
  }
  return count;
}

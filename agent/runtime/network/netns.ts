/*
 * Network namespaces: each one is a whole private network stack — its own interfaces, addresses,
 * routes, firewall and sockets. A new one holds only a loopback device, and that one is down.
 *
 * A namespace has no name in the kernel; it is reached through a process inside it, as the file
 * /proc/<pid>/ns/net. setns(2) with that file moves the calling THREAD (not the process) into the
 * namespace. A socket remembers the namespace it was created in, so the agent steps in, opens a
 * NETLINK_ROUTE socket, and steps straight back: every message on that socket then configures the
 * container's stack while the agent itself never leaves the host's. The way back is the thread's
 * own namespace file, opened before leaving, and it is restored in `finally` whatever happens.
 * (setns into a network namespace works from Node's multi-threaded main thread; only user and
 * mount namespaces refuse that.)
 */
import { statSync } from 'node:fs';
import { CLONE_NEWNET, O_RDONLY } from '../../kernel/constants';
import { closeFd, openFile } from '../../kernel/files';
import { setns } from '../../kernel/namespaces';
import { RouteSocket } from '../../kernel/rtnetlink';

export const netnsPath = (pid: number): string => `/proc/${pid}/ns/net`;
export const OWN_NETNS_PATH = '/proc/thread-self/ns/net';

/** Opens a process's network namespace file (for setns, IFLA_NET_NS_FD or NETNSA_FD). */
export function openNetns(pid: number): number {
  return openFile(netnsPath(pid), O_RDONLY);
}

/** The namespace's inode number: its identity, as `ls -l /proc/<pid>/ns/net` and lsns show it. */
export function netnsInode(path: string): number {
  return statSync(path).ino;
}

/** Opens a NETLINK_ROUTE socket that lives in the network namespace `namespaceFd` refers to. */
export function openRouteSocketIn(namespaceFd: number, what: string): RouteSocket {
  const home = openFile(OWN_NETNS_PATH, O_RDONLY);
  try {
    setns(namespaceFd, CLONE_NEWNET, what);
    try {
      return new RouteSocket();
    } finally {
      setns(home, CLONE_NEWNET, `${OWN_NETNS_PATH} (back home)`);
    }
  } finally {
    closeFd(home);
  }
}

/** Runs `work` with a route socket inside the network namespace of process `pid`. */
export function withNetnsOf<T>(pid: number, work: (socket: RouteSocket) => T): T {
  const namespaceFd = openNetns(pid);
  let socket: RouteSocket;
  try {
    socket = openRouteSocketIn(namespaceFd, netnsPath(pid));
  } finally {
    closeFd(namespaceFd);
  }
  try {
    return work(socket);
  } finally {
    socket.close();
  }
}

/** Runs `work` with a route socket in the agent's own (the host's) network namespace. */
export function withHostSocket<T>(work: (socket: RouteSocket) => T): T {
  const socket = new RouteSocket();
  try {
    return work(socket);
  } finally {
    socket.close();
  }
}

/*
 * Namespaces: what a process can see.
 *
 * A namespace wraps one kind of global resource so that the processes inside get their own
 * instance of it. Linux has seven a container uses (plus `time`):
 *   mnt     the mount table — its own root filesystem, its own /proc
 *   uts     hostname and domain name
 *   ipc     System V IPC objects and POSIX message queues
 *   pid     process IDs — the container's first process is PID 1 and sees only its descendants
 *   net     network devices, addresses, routes, sockets, firewall
 *   user    user and group IDs — root inside can be an unprivileged uid outside
 *   cgroup  the view of /proc/self/cgroup: the container's cgroup appears as "/"
 * Each namespace is a kernel object with an inode number; /proc/<pid>/ns/<type> is a handle to
 * it. Two processes share a namespace exactly when those inodes are equal — which is what the
 * tests and the sidebar compare. Opening that file and calling setns(2) moves the calling thread
 * into the namespace; clone(2) with a CLONE_NEW* flag creates a new one for the child.
 */
import { statSync } from 'node:fs';
import { NAMESPACE_TYPES, type NamespaceType } from '../protocol';
import {
  CLONE_FS,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  O_DIRECTORY,
  O_RDONLY,
} from '../kernel/constants';
import { closeFd, fchdir, openFile } from '../kernel/files';
import { setns, unshare } from '../kernel/namespaces';

export const CLONE_FLAG: Record<NamespaceType, number> = {
  cgroup: CLONE_NEWCGROUP,
  ipc: CLONE_NEWIPC,
  mnt: CLONE_NEWNS,
  net: CLONE_NEWNET,
  pid: CLONE_NEWPID,
  user: CLONE_NEWUSER,
  uts: CLONE_NEWUTS,
};

export function namespacePath(pid: number | 'self' | 'thread-self', type: NamespaceType): string {
  return `/proc/${pid}/ns/${type}`;
}

/** The namespace inode of each type for a process, as the kernel reports it. */
export function namespaceInodes(pid: number | 'self'): Partial<Record<NamespaceType, number>> {
  const inodes: Partial<Record<NamespaceType, number>> = {};
  for (const type of NAMESPACE_TYPES) {
    try {
      inodes[type] = statSync(namespacePath(pid, type)).ino;
    } catch {
      // the process exited or this kernel lacks the type
    }
  }
  return inodes;
}

export function cloneFlagsFor(types: readonly NamespaceType[]): number {
  return types.reduce((flags, type) => flags | CLONE_FLAG[type], 0);
}

/**
 * Runs `action` on this thread inside the given namespaces of `pid`, then steps back out.
 *
 * setns(2) changes only the calling thread, and only until the next setns, so the agent can act
 * inside a container (mount in its mount namespace, set its hostname) within one synchronous call
 * with no JavaScript of other callers running in between. Entering a mount namespace from a
 * multi-threaded process needs the thread to own its filesystem context (root, working
 * directory, umask) alone, or setns answers EINVAL; and entering resets the thread's root and
 * working directory, which are restored afterwards.
 *
 * Owning it once is not enough: a thread started later by this one (libuv's thread pool grows on
 * first use, V8 adds helpers) shares this thread's filesystem context again. So every entry asks
 * for it with unshare(CLONE_FS), which the kernel answers at once when nothing shares it.
 * A user namespace cannot be entered this way; the agent acts as host root, which is privileged
 * over every namespace its containers own.
 */
export function insideNamespaces<T>(pid: number, types: readonly NamespaceType[], action: () => T): T {
  return insideNamespacesAt(types.map((type) => ({ type, path: namespacePath(pid, type) })), action);
}

/**
 * insideNamespaces by path (/proc/<pid>/ns/<type>, or a bind-mounted namespace file). For a PID
 * namespace, setns changes only which namespace this thread's next children are born in (its own
 * PID never changes): so a clone inside `action` makes a process that is in that namespace from
 * birth — how a container joins a pod's shared PID namespace.
 */
export function insideNamespacesAt<T>(targets: readonly { type: NamespaceType; path: string }[], action: () => T): T {
  const types = targets.map((target) => target.type);
  if (types.includes('user')) throw new Error('a multi-threaded process cannot enter a user namespace');
  if (types.includes('mnt')) unshare(CLONE_FS);
  const entered: { type: NamespaceType; home: number }[] = [];
  const workingDirectory = types.includes('mnt') ? openFile('.', O_RDONLY | O_DIRECTORY) : -1;
  try {
    for (const { type, path } of targets) {
      const home = openFile(namespacePath('thread-self', type), O_RDONLY);
      const target = openFile(path, O_RDONLY);
      try {
        setns(target, CLONE_FLAG[type], `${type} namespace ${path}`);
        entered.push({ type, home });
      } catch (error) {
        closeFd(home);
        throw error;
      } finally {
        closeFd(target);
      }
    }
    return action();
  } finally {
    for (const { type, home } of entered.reverse()) {
      setns(home, CLONE_FLAG[type], `the agent's own ${type} namespace`);
      closeFd(home);
    }
    if (workingDirectory >= 0) {
      fchdir(workingDirectory);
      closeFd(workingDirectory);
    }
  }
}

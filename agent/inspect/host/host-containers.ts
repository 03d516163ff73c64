/*
 * Every container on the host, whoever made it (host.containers).
 *
 * One pass over /proc (../processes.ts: each process's namespace links, parent and cgroups), then
 * the kernel's own grouping (./namespace-sets.ts): the processes whose namespaces are not the
 * host's, by their set of namespaces. Only for those few groups is more read — NSpid and state of
 * their members, the first process's mountinfo (what is mounted at its `/`), its parents'
 * command lines (a containerd shim says its namespace and task id) — and the makers' records
 * (./makers.ts): this agent's state, the OCI runtimes' --root directories, the shim's bundle.
 */
import { readFileSync, existsSync } from 'node:fs';
import type { HostContainer, HostContainers, HostProcess, HostProcessLink, HostRootfs } from '../../protocol';
import { readMountinfoEntries } from '../mountinfo';
import { snapshotProcesses } from '../processes';
import { readArgv, readShim, isShimCommand, type ContainerdShim } from './containerd-shim';
import { nameContainer, type MakerTraces, type OwnContainer } from './makers';
import { groupByNamespaces, hostNamespaces, sharedWithHost, type NamespaceGroup } from './namespace-sets';
import { DEFAULT_RUNTIME_ROOTS, readStateRoot, type RuntimeStateEntry } from './runtime-state';

export type { OwnContainer } from './makers';

export interface DiscoveryOptions {
  /** This agent's containers (and its warm pool's sandboxes): first-process PID → id, name, status. */
  own: readonly OwnContainer[];
  /** More OCI runtime --root directories to read (runc --root DIR); their runtime is told by the record's format. */
  roots?: readonly string[];
}

const MAX_PARENTS = 64;

export function discoverHostContainers(options: DiscoveryOptions): HostContainers {
  const { processes } = snapshotProcesses();
  const host = hostNamespaces();
  const byPid = new Map(processes.map((hostProcess) => [hostProcess.pid, hostProcess]));
  const traces = makerTraces(options);
  const containers = groupByNamespaces(processes, host).map((group) => describe(group, byPid, traces, host));
  return { takenAt: new Date().toISOString(), host, containers };
}

function makerTraces(options: DiscoveryOptions): MakerTraces {
  const byRoot = new Map<string, Map<number, RuntimeStateEntry>>();
  const statesUnder = (root: string, runtime: string): Map<number, RuntimeStateEntry> => {
    let states = byRoot.get(root);
    if (!states) {
      states = new Map(readStateRoot(root, runtime).map((entry) => [entry.pid, entry]));
      byRoot.set(root, states);
    }
    return states;
  };
  const states = new Map<number, RuntimeStateEntry>();
  const roots = [...DEFAULT_RUNTIME_ROOTS, ...(options.roots ?? []).map((root) => ({ root, runtime: 'runc' }))];
  for (const { root, runtime } of roots) for (const [pid, entry] of statesUnder(root, runtime)) states.set(pid, entry);
  return { own: new Map(options.own.map((container) => [container.pid, container])), states, statesUnder };
}

function describe(group: NamespaceGroup, byPid: ReadonlyMap<number, HostProcess>, traces: MakerTraces, host: HostContainers['host']): HostContainer {
  const { init } = group;
  const { parents, shim } = parentChain(init.ppid, byPid);
  const naming = nameContainer(traces, init, group.members.map((member) => member.pid), shim, init.cgroups);
  const command = readArgv(init.pid)[0];
  return {
    key: group.key,
    maker: naming.maker,
    runtime: naming.runtime,
    id: naming.id,
    name: naming.name,
    namespace: naming.namespace,
    status: naming.status ?? (isFrozen(naming.freezer, init.cgroups) ? 'paused' : 'running'),
    pid: init.pid,
    command: command ? baseName(command) : init.command,
    namespaces: init.namespaces,
    sharedWithHost: sharedWithHost(init.namespaces, host),
    cgroup: representativeCgroup(init.cgroups),
    cgroups: init.cgroups,
    parents,
    rootfs: rootfsOf(init.pid),
    bundle: naming.bundle,
    stateDir: naming.stateDir,
    processes: group.processes,
  };
}

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** The parents from `ppid` up to PID 1, nearest first, and the first containerd shim among them. */
function parentChain(ppid: number, byPid: ReadonlyMap<number, HostProcess>): { parents: HostProcessLink[]; shim: ContainerdShim | null } {
  const parents: HostProcessLink[] = [];
  let shim: ContainerdShim | null = null;
  const seen = new Set<number>();
  for (let pid = ppid; pid > 0 && !seen.has(pid) && parents.length < MAX_PARENTS; ) {
    seen.add(pid);
    const argv = readArgv(pid);
    const known = byPid.get(pid);
    parents.push({ pid, command: argv[0] ? baseName(argv[0]) : (known?.command ?? '?') });
    if (!shim && argv[0] && isShimCommand(argv[0])) shim = readShim(pid, argv);
    pid = known?.ppid ?? parentOf(pid);
  }
  return { parents, shim };
}

/** PPid from /proc/<pid>/status, for a parent born after the pass over /proc; 0 when gone. */
function parentOf(pid: number): number {
  try {
    return Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The v2 path on a pure v2 host; on v1 or a hybrid, the memory hierarchy's (where runtimes put limits). */
function representativeCgroup(cgroups: Record<string, string>): string | null {
  const keys = Object.keys(cgroups);
  if (keys.length === 1 && keys[0] === 'unified') return cgroups.unified!;
  const memory = keys.find((key) => key.split(',').includes('memory'));
  return (memory ? cgroups[memory] : undefined) ?? cgroups.pids ?? cgroups.unified ?? null;
}

/** Frozen by the v1 freezer the runtime recorded, or by cgroup v2's cgroup.freeze on a pure v2 host. */
function isFrozen(freezer: string | null, cgroups: Record<string, string>): boolean {
  try {
    if (freezer) return readFileSync(`${freezer}/freezer.state`, 'utf8').trim() === 'FROZEN';
    if (cgroups.unified && existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      return readFileSync(`/sys/fs/cgroup${cgroups.unified}/cgroup.freeze`, 'utf8').trim() === '1';
    }
  } catch {
    // no such file: not frozen
  }
  return false;
}

/** What is mounted at the first process's `/`: the last mount on "/" in its mountinfo is the one it sees. */
function rootfsOf(pid: number): HostRootfs | null {
  try {
    const root = readMountinfoEntries(pid).filter((entry) => entry.target === '/').pop();
    if (!root) return null;
    const upper = /(?:^|,)upperdir=([^,]+)/.exec(root.superOptions)?.[1] ?? null;
    return { fstype: root.fstype, source: root.source, root: root.root, upper };
  } catch {
    return null;
  }
}

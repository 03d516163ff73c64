/*
 * Containers as the kernel sees them: sets of namespaces.
 *
 * The kernel has no object called "container". What every runtime makes is a process (and its
 * children) placed in namespaces other than the host's: its own mount table, PID numbering,
 * network stack, hostname… So a container is found without asking anyone: read each process's
 * namespace links (/proc/<pid>/ns/<type>, see ../processes.ts), drop the types whose inode is the
 * host's, and group the processes by what is left. Each group with something left is one
 * container-like thing; `lsns` shows the same namespaces, one type at a time.
 *
 * "The host's" namespaces are PID 1's: every other process descends from it. Where PID 1 hides
 * them (a PID 1 that is not dumpable cannot have its links read, even by root) the kernel's own
 * thread kthreadd, PID 2, lives in the initial namespaces too. Kernel threads (kthreadd and its
 * children) are skipped: some keep a private mount namespace (kdevtmpfs) but are no container.
 *
 * Within a group the first process is the one the others descend from: PID 1 of its own PID
 * namespace (NSpid's last field in /proc/<pid>/status is 1), else — a container sharing the
 * host's PID namespace — the lowest PID whose parent is outside the group.
 */
import type { HostProcess, NamespaceType, ProcessRecord } from '../../protocol';
import { NAMESPACE_TYPES } from '../../protocol';
import { processRecord } from '../container-record';
import { readNamespaceInodes } from '../processes';

export type NamespaceInodes = Partial<Record<NamespaceType, number>>;

export interface NamespaceGroup {
  /** The group's own namespaces as "type:inode" words, in the kernel's type order. */
  key: string;
  /** The first process (see above) and every member, with both of their PIDs. */
  init: HostProcess;
  initRecord: ProcessRecord;
  members: HostProcess[];
  processes: ProcessRecord[];
}

const KTHREADD = 2;

/** The host's namespaces: PID 1's, each type PID 1 hides taken from kthreadd (then from this process). */
export function hostNamespaces(): NamespaceInodes {
  const ofInit = readNamespaceInodes(1) ?? {};
  const ofKthreadd = readNamespaceInodes(KTHREADD) ?? {};
  const ofSelf = readNamespaceInodes(process.pid) ?? {};
  const host: NamespaceInodes = {};
  for (const type of NAMESPACE_TYPES) {
    const inode = ofInit[type] ?? ofKthreadd[type] ?? ofSelf[type];
    if (inode !== undefined) host[type] = inode;
  }
  return host;
}

/** The "type:inode" words of the namespaces a process does not share with the host; '' for none. */
export function ownNamespaceKey(namespaces: NamespaceInodes, host: NamespaceInodes): string {
  const words: string[] = [];
  for (const type of NAMESPACE_TYPES) {
    const inode = namespaces[type];
    if (inode !== undefined && inode !== host[type]) words.push(`${type}:${inode}`);
  }
  return words.join(' ');
}

/** The types a process shares with the host. */
export function sharedWithHost(namespaces: NamespaceInodes, host: NamespaceInodes): NamespaceType[] {
  return NAMESPACE_TYPES.filter((type) => namespaces[type] !== undefined && namespaces[type] === host[type]);
}

function isKernelThread(process: HostProcess): boolean {
  return process.pid === KTHREADD || process.ppid === KTHREADD;
}

/** Groups the processes of one pass over /proc by their own namespaces; the host's own processes drop out. */
export function groupByNamespaces(processes: readonly HostProcess[], host: NamespaceInodes): NamespaceGroup[] {
  const byKey = new Map<string, HostProcess[]>();
  for (const hostProcess of processes) {
    if (isKernelThread(hostProcess)) continue;
    const key = ownNamespaceKey(hostProcess.namespaces, host);
    if (key === '') continue;
    const members = byKey.get(key);
    if (members) members.push(hostProcess);
    else byKey.set(key, [hostProcess]);
  }
  const groups: NamespaceGroup[] = [];
  for (const [key, members] of byKey) {
    const group = describeGroup(key, members, host);
    if (group) groups.push(group);
  }
  return groups.sort((a, b) => a.init.pid - b.init.pid);
}

/** Reads each member's NSpid and state (the few processes of containers only) and picks the first process. */
function describeGroup(key: string, members: HostProcess[], host: NamespaceInodes): NamespaceGroup | null {
  const records = new Map<number, ProcessRecord>();
  for (const member of members) {
    const [record] = processRecord(member.pid);
    if (record) records.set(member.pid, record);
  }
  const alive = members.filter((member) => records.has(member.pid));
  if (alive.length === 0) return null; // every member exited meanwhile
  const pids = new Set(alive.map((member) => member.pid));
  const ownPidNamespace = alive[0]!.namespaces.pid !== host.pid;
  const byPid = (a: HostProcess, b: HostProcess): number => a.pid - b.pid;
  const init =
    (ownPidNamespace ? alive.filter((member) => records.get(member.pid)!.nspid === 1).sort(byPid)[0] : undefined) ??
    alive.filter((member) => !pids.has(member.ppid)).sort(byPid)[0] ??
    [...alive].sort(byPid)[0]!;
  return {
    key,
    init,
    initRecord: records.get(init.pid)!,
    members: alive,
    processes: alive.map((member) => records.get(member.pid)!),
  };
}

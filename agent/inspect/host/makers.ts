/*
 * Who made a container the kernel shows (./namespace-sets.ts): each maker leaves a trace of its
 * own, checked in this order —
 *
 *   this agent      its state names the container's first process (the caller passes that list)
 *   containerd      a containerd shim among the first process's parents (./containerd-shim.ts);
 *                   its namespace "moby" is Docker's. The OCI runtime it drove has the record.
 *   runc, crun, …   an OCI runtime's --root holds a record whose PID is the first process
 *                   (./runtime-state.ts), and /proc/<pid>/stat's start time matches the record's
 *   Docker          a cgroup named after a 64-hex-digit id: /docker/<id>, docker-<id>.scope
 *   Containers Lab  another agent's container: a cgroup <agent's>/containers-lab/<name>
 *   unknown         nothing claims it
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ContainerMaker, HostContainer } from '../../protocol';
import type { ContainerdShim } from './containerd-shim';
import type { RuntimeStateEntry } from './runtime-state';

/** A container of this agent, as its state knows it. */
export interface OwnContainer {
  id: string;
  name: string;
  pid: number;
  status: HostContainer['status'];
  stateDir: string | null;
}

export type Naming = Pick<HostContainer, 'maker' | 'runtime' | 'id' | 'name' | 'namespace' | 'bundle' | 'stateDir'> & {
  /** The status the maker's record gives; null: the kernel's say (running, or paused when frozen). */
  status: HostContainer['status'] | null;
  freezer: string | null;
};

export interface MakerTraces {
  own: ReadonlyMap<number, OwnContainer>;
  /** Runtime records by their container's PID (the default roots and any asked for). */
  states: ReadonlyMap<number, RuntimeStateEntry>;
  /** A shim's records: every record under its runtime's root, by PID. */
  statesUnder(root: string, runtime: string): ReadonlyMap<number, RuntimeStateEntry>;
}

const DOCKER_CGROUP = /(?:^|\/)(?:docker[-/])([0-9a-f]{64})(?:\.scope)?(?:\/|$)/;
const LAB_CGROUP = /\/containers-lab\/([^/]+)$/;

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return null;
  }
}

/** A runtime record whose PID is `pid` and whose start time (when recorded) is this process's. */
function recordOf(states: ReadonlyMap<number, RuntimeStateEntry>, pid: number): RuntimeStateEntry | null {
  const entry = states.get(pid);
  if (!entry) return null;
  if (entry.startTime !== null && processStartTime(pid) !== entry.startTime) return null; // a reused PID
  return entry;
}

/** Names a group from its first process, its members' PIDs, its parents' shim (if any) and its cgroups. */
export function nameContainer(
  traces: MakerTraces,
  init: { pid: number; command: string },
  memberPids: readonly number[],
  shim: ContainerdShim | null,
  cgroups: Record<string, string>,
): Naming {
  for (const pid of [init.pid, ...memberPids]) {
    const own = traces.own.get(pid);
    if (own) return { maker: 'containers-lab', runtime: null, id: own.id, name: own.name, namespace: null, bundle: null, stateDir: own.stateDir, status: own.status, freezer: null };
  }
  if (shim) {
    const record = recordOf(traces.statesUnder(shim.runtimeRoot, shim.runtime), init.pid);
    const id = record?.id ?? (shim.bundle ? basename(shim.bundle) : shim.id);
    const maker: ContainerMaker = shim.namespace === 'moby' ? 'docker' : 'containerd';
    return {
      maker,
      runtime: shim.runtime,
      id,
      name: maker === 'docker' ? id.slice(0, 12) : `${shim.namespace}/${id}`,
      namespace: shim.namespace,
      bundle: record?.bundle ?? shim.bundle,
      stateDir: record?.stateDir ?? null,
      status: record?.created ? 'created' : null,
      freezer: record?.freezer ?? null,
    };
  }
  const record = recordOf(traces.states, init.pid);
  if (record) {
    const maker = record.runtime as ContainerMaker;
    return { maker, runtime: null, id: record.id, name: record.id, namespace: null, bundle: record.bundle, stateDir: record.stateDir, status: record.created ? 'created' : null, freezer: record.freezer };
  }
  const paths = Object.values(cgroups);
  for (const path of paths) {
    const docker = DOCKER_CGROUP.exec(path);
    if (docker) return { maker: 'docker', runtime: null, id: docker[1]!, name: docker[1]!.slice(0, 12), namespace: null, bundle: null, stateDir: null, status: null, freezer: null };
  }
  for (const path of paths) {
    const lab = LAB_CGROUP.exec(path);
    if (lab) return { maker: 'containers-lab', runtime: null, id: lab[1]!, name: lab[1]!, namespace: null, bundle: null, stateDir: null, status: null, freezer: null };
  }
  return { maker: 'unknown', runtime: null, id: String(init.pid), name: init.command, namespace: null, bundle: null, stateDir: null, status: null, freezer: null };
}

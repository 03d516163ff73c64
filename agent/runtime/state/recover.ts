/*
 * Start-up: what the records say, and what the kernel says when a record cannot be read.
 *
 * The agent keeps a container's state in state.json (./store.ts), but the container itself lives
 * in the kernel: its processes in a cgroup named after its id, its network as a veth and an
 * address lease, its root as an overlay in its own mount namespace. Those outlive the agent; a
 * record can be lost (a disk that lost the last write, a hand that emptied it). Forgetting the
 * container then would leave all of it running with nothing to stop or remove it — and the lease
 * taken forever. So an unreadable record is rebuilt from the witnesses that remain:
 *
 *   config.json            written once at create: name, namespaces, network mode, hostname, image
 *   cgroup <id>            where the agent puts every container (its plan for the id): the processes
 *   network/<bridge>.json  the bridge ledger: the lease (address, veth) held for the id
 *   /proc/<pid>/mountinfo  the overlay at the container's root: its layers
 *
 * With config.json readable the container is adopted: running when its cgroup holds processes
 * (the first process is PID 1 of its PID namespace, or the oldest), else stopped — its lease is
 * then released as at any exit. The rebuilt record is saved. Without config.json too little is
 * known to show it, so everything it left is removed: its processes killed, whatever of it is
 * mounted on the host unmounted, its veth and lease detached, its cgroup and directory deleted.
 * Either way one line says what happened: never forget silently.
 *
 * Readable records are handled as before: "creating" means an agent died half-way (the parked
 * child died with it), so everything is removed; a "created" container whose first process waited
 * in an earlier agent stays listed as created (`start` makes it again: ../lifecycle/remake.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupRecord, NetworkRecord, OciSpec, RootfsRecord } from '../../protocol';
import { MNT_DETACH } from '../../kernel/constants';
import { umount } from '../../kernel/mounts';
import { readMountinfoEntries } from '../../inspect/mountinfo';
import { ANNOTATIONS, joinedNamespacesFromConfig, namespacesFromConfig, networkModeFromConfig } from '../../oci/from-run-options';
import { validateConfig } from '../../oci/validate';
import type { Cgroup } from '../cgroups';
import { busyboxImageStatus } from '../image/busybox';
import type { RuntimeContext } from '../lifecycle/context';
import { deleteContainer } from '../lifecycle/delete';
import { killEverything } from '../lifecycle/stop';
import { detachNetwork } from '../network';
import { findLink } from '../network/interfaces';
import { withNetnsOf } from '../network/netns';
import { layersFor } from '../overlay';
import { isSameProcessAlive, processStartTime } from '../process/exit-watcher';
import type { ContainerState } from './store';

export type Log = (line: string) => void;

/** A record loaded at start-up (`config` when recovery had to read it anyway). */
export interface Loaded {
  state: ContainerState;
  config?: OciSpec;
}

/** Loads every record, finishing what a crashed agent left half-made and rebuilding what was lost. */
export function loadRecords(context: RuntimeContext, log: Log): Loaded[] {
  context.store.emptyDiscarded();
  const loaded: Loaded[] = [];
  const unreadable: string[] = [];
  for (const id of context.store.ids()) {
    const state = context.store.load(id);
    if (!state) {
      unreadable.push(id);
    } else if (state.status === 'creating') {
      const cgroup = openCgroup(context, state.cgroup);
      if (state.pid !== null && isSameProcessAlive(state.pid, state.pidStartTime)) killEverything(state, cgroup);
      deleteContainer(context, state, cgroup);
    } else {
      if (state.status === 'created' && state.pid !== null && !isSameProcessAlive(state.pid, state.pidStartTime)) {
        // Its first process waited in the agent that made it and died with it: none is left.
        state.pid = null;
        state.pidStartTime = null;
      }
      loaded.push({ state });
    }
  }
  // After the readable ones: a pod member's network is its sandbox's record.
  for (const id of unreadable) {
    const recovered = recover(context, id, loaded.map((entry) => entry.state), log);
    if (recovered) loaded.push(recovered);
  }
  return loaded;
}

function recover(context: RuntimeContext, id: string, known: ContainerState[], log: Log): Loaded | null {
  const directory = context.store.directory(id);
  const why = describeRecord(join(directory, 'state.json'));
  const config = readConfig(join(directory, 'config.json'));
  const planned = planCgroup(context, id);
  const cgroup = openCgroup(context, planned);
  const cgroupExists = planned !== null && Object.values(planned.directories).some((path) => existsSync(path));
  const processes = cgroupExists ? safely(() => cgroup?.processes() ?? [], []) : [];
  const leases = leasesOf(context.stateRoot, id);
  // No record at all and nothing in the kernel: the agent died inside create, before the cgroup.
  const neverMade = why === 'missing' && !cgroupExists && leases.length === 0;
  if (config && !neverMade) {
    const state = adopt(context, id, config, { cgroup, planned, processes, leases, known });
    context.store.save(state);
    const network = state.network.ip ? `, ${state.network.ip} on ${state.network.bridge}` : '';
    log(`recovered container ${state.name} (${id.slice(0, 12)}) from its config.json and the kernel (state.json was ${why}): ${state.status}${state.pid !== null ? `, pid ${state.pid}` : ''}${network}`);
    return { state, config };
  }

  const done: string[] = [];
  if (processes.length > 0 && cgroup) {
    safely(() => cgroup.killAll(), undefined);
    done.push(`killed ${processes.length} process${processes.length === 1 ? '' : 'es'}`);
  }
  // Its overlay lived in its own mount namespace, gone with its processes; anything of its
  // directory still mounted on the host (a bind mount someone made) would keep the directory busy.
  const mounted = readMountinfoEntries('self').map((entry) => entry.target).filter((target) => target === directory || target.startsWith(`${directory}/`));
  for (const target of mounted.sort((a, b) => b.length - a.length)) safely(() => umount(target, MNT_DETACH), undefined);
  if (mounted.length > 0) done.push(`unmounted ${mounted.length}`);
  for (const lease of leases) {
    safely(() => detachNetwork({ containerId: id, stateDir: context.stateRoot, bridge: lease.bridge }), undefined);
    done.push(`released ${lease.ip} on ${lease.bridge} (veth ${lease.vethHost})`);
  }
  if (cgroup) safely(() => cgroup.destroy(), undefined);
  context.store.remove(id);
  done.push(cgroupExists ? 'removed its cgroup and directory' : 'removed its directory');
  const reason = neverMade ? 'its record was never completed' : `state.json was ${why} and config.json ${config ? 'was too' : 'unreadable'}`;
  log(`removed container ${id.slice(0, 12)} (${reason}): ${done.join(', ')}`);
  return null;
}

interface Witnesses {
  cgroup: Cgroup | null;
  planned: CgroupRecord | null;
  processes: number[];
  leases: Lease[];
  known: ContainerState[];
}

function adopt(context: RuntimeContext, id: string, config: OciSpec, witnesses: Witnesses): ContainerState {
  const { cgroup, planned, processes, leases, known } = witnesses;
  const directory = context.store.directory(id);
  const namespaces = namespacesFromConfig(config);
  const pid = firstProcess(processes, namespaces.includes('pid'));
  const named = config.annotations?.[ANNOTATIONS.name] ?? id.slice(0, 12);
  const name = known.some((state) => state.name === named) ? `${named}-${id.slice(0, 8)}` : named;
  const state: ContainerState = {
    id, name, status: pid !== null ? 'running' : 'stopped', pid, pidStartTime: pid !== null ? processStartTime(pid) : null,
    exitCode: null, oomKilled: false,
    createdAt: statSync(join(directory, 'config.json')).mtime.toISOString(),
    startedAt: pid !== null ? startedAt(pid) : null, finishedAt: null,
    image: config.annotations?.[ANNOTATIONS.image] ?? 'busybox', hostname: config.hostname ?? null,
    namespaces,
    rootfs: namespaces.includes('mnt') ? rootfsOf(context, directory, pid) : null,
    cgroup: safely(() => cgroup?.record() ?? null, null) ?? planned,
    network: networkOf(config, pid, leases, known),
    logPath: join(directory, 'container.log'),
  };
  if (pid === null && state.network.mode === 'bridge') {
    // As at any container's exit: the address goes back to the bridge (its veth went with the namespace).
    for (const lease of leases) safely(() => detachNetwork({ containerId: id, stateDir: context.stateRoot, bridge: lease.bridge }), undefined);
  }
  return state;
}

/** The container's first process: PID 1 of its own PID namespace, else the one that started first. */
function firstProcess(processes: number[], ownPidNamespace: boolean): number | null {
  const alive = processes.filter((pid) => processStartTime(pid) !== null);
  if (ownPidNamespace) {
    const init = alive.find((pid) => /^NSpid:.*\s1$/m.test(safely(() => readFileSync(`/proc/${pid}/status`, 'utf8'), '')));
    if (init !== undefined) return init;
  }
  const byStart = alive.map((pid) => ({ pid, start: Number(processStartTime(pid) ?? Infinity) })).sort((a, b) => a.start - b.start);
  return byStart[0]?.pid ?? null;
}

/** Wall-clock start of a process: boot time plus its start in clock ticks (USER_HZ, 100 on Linux). */
function startedAt(pid: number): string | null {
  const ticks = Number(processStartTime(pid));
  const bootTime = Number(/^btime (\d+)$/m.exec(safely(() => readFileSync('/proc/stat', 'utf8'), ''))?.[1]);
  if (!Number.isFinite(ticks) || !Number.isFinite(bootTime)) return null;
  return new Date(bootTime * 1000 + ticks * 10).toISOString();
}

/** The layers from the overlay at the process's root; without a process, those create would use. */
function rootfsOf(context: RuntimeContext, directory: string, pid: number | null): RootfsRecord {
  const layers = layersFor(directory, []);
  const overlay = pid === null ? undefined : safely(() => readMountinfoEntries(pid), []).find((entry) => entry.fstype === 'overlay' && entry.superOptions.includes(`upperdir=${layers.upper}`));
  const lower = /(?:^|,)lowerdir=([^,]+)/.exec(overlay?.superOptions ?? '')?.[1];
  if (lower) return { ...layers, lower: lower.split(':') };
  const image = busyboxImageStatus(context.stateRoot).path;
  return { ...layers, lower: [image] };
}

function networkOf(config: OciSpec, pid: number | null, leases: Lease[], known: ContainerState[]): NetworkRecord {
  const mode = networkModeFromConfig(config);
  const none: NetworkRecord = { mode, ifname: null, ip: null, prefixLength: null, gateway: null, mac: null, vethHost: null, bridge: null };
  // A pod member joined its sandbox's network namespace: its record is the sandbox's.
  const joined = joinedNamespacesFromConfig(config).find((entry) => entry.type === 'net');
  if (joined) {
    const sandboxPid = Number(/^\/proc\/(\d+)\//.exec(joined.path)?.[1]);
    const sandbox = known.find((state) => state.pid === sandboxPid);
    return sandbox ? { ...sandbox.network } : none;
  }
  const lease = leases[0];
  if (mode !== 'bridge' || !lease) return { ...none, bridge: mode === 'bridge' ? config.annotations?.[ANNOTATIONS.bridge] ?? null : null };
  const mac = pid === null ? null : safely(() => withNetnsOf(pid, (socket) => findLink(socket, 'eth0')?.mac ?? null), null);
  return { mode, ifname: 'eth0', ip: lease.ip, prefixLength: lease.prefixLength, gateway: lease.gateway, mac, vethHost: lease.vethHost, bridge: lease.bridge };
}

interface Lease {
  bridge: string;
  ip: string;
  vethHost: string;
  gateway: string;
  prefixLength: number;
}

/** Every lease the bridge ledgers of this state root hold for `id`. */
function leasesOf(stateRoot: string, id: string): Lease[] {
  const directory = join(stateRoot, 'network');
  const files = safely(() => readdirSync(directory), []).filter((file) => file.endsWith('.json'));
  return files.flatMap((file) => {
    const ledger = safely(() => JSON.parse(readFileSync(join(directory, file), 'utf8')) as { bridge: string; gateway: string; prefixLength: number; allocations: Record<string, { ip: string; vethHost: string }> }, null);
    const allocation = ledger?.allocations?.[id];
    return ledger && allocation ? [{ bridge: ledger.bridge, ip: allocation.ip, vethHost: allocation.vethHost, gateway: ledger.gateway, prefixLength: ledger.prefixLength }] : [];
  });
}

function describeRecord(path: string): 'missing' | 'empty' | 'torn' {
  try {
    return statSync(path).size === 0 ? 'empty' : 'torn';
  } catch {
    return 'missing';
  }
}

function readConfig(path: string): OciSpec | null {
  return safely(() => validateConfig(JSON.parse(readFileSync(path, 'utf8')) as unknown), null);
}

function planCgroup(context: RuntimeContext, id: string): CgroupRecord | null {
  return safely(() => context.cgroups.plan(id), null);
}

function openCgroup(context: RuntimeContext, record: CgroupRecord | null): Cgroup | null {
  return record ? safely(() => context.cgroups.open(record), null) : null;
}

function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

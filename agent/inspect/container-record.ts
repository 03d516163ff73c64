/*
 * The container record, assembled from the kernel's own files each time it is asked for:
 * namespace inodes from /proc/<pid>/ns, mounts from /proc/<pid>/mountinfo, limits and usage from
 * the cgroup's files, processes from the cgroup's member list and /proc/<pid>/status. The stored
 * state contributes only what the kernel cannot tell (name, times, exit code, the config — and
 * so the device rules, whose kernel form, devices.list or an eBPF program, the record points at).
 */
import { readFileSync } from 'node:fs';
import { NAMESPACE_TYPES, type ContainerRecord, type NamespaceType, type OciSpec, type ProcessRecord } from '../protocol';
import type { Cgroup } from '../runtime/cgroups';
import { devicesRecord } from '../runtime/cgroups/device-rules';
import { namespaceInodes } from '../runtime/namespaces';
import type { ContainerState } from '../runtime/state/store';
import { ANNOTATIONS } from '../oci/from-run-options';
import { portsFromConfig } from '../runtime/network/ports/publish-syntax';
import { withKernelDeviceAccess } from './device-access';
import { readMountinfo } from './mountinfo';
import { readSecurity } from './security';

const agentNamespaces = namespaceInodes('self');

export function buildContainerRecord(state: ContainerState, config: OciSpec, cgroup: Cgroup | null): ContainerRecord {
  const alive = state.pid !== null && state.status !== 'stopped';
  const namespaces = alive ? namespaceInodes(state.pid!) : {};
  const sharedWithHost: NamespaceType[] = NAMESPACE_TYPES.filter((type) => !state.namespaces.includes(type));
  let cgroupRecord = state.cgroup;
  try {
    if (cgroup) cgroupRecord = cgroup.record();
  } catch {
    // removed underneath us; show the stored description
  }
  const mounts = alive ? safely(() => readMountinfo(state.pid!), []) : [];
  return {
    id: state.id,
    name: state.name,
    status: state.status,
    pid: alive ? state.pid : null,
    exitCode: state.exitCode,
    oomKilled: state.oomKilled,
    createdAt: state.createdAt,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    image: state.image,
    imageRef: imageRefOf(config),
    exposedPorts: exposedPortsOf(config),
    hostname: state.hostname,
    config,
    namespaces,
    sharedWithHost: alive ? NAMESPACE_TYPES.filter((type) => namespaces[type] !== undefined && namespaces[type] === agentNamespaces[type]) : sharedWithHost,
    cgroup: cgroupRecord ? { ...cgroupRecord, devices: withKernelDeviceAccess(devicesRecord(config, cgroupRecord), cgroupRecord) } : null,
    rootfs: state.rootfs,
    mounts,
    network: state.network,
    ports: portsFromConfig(config),
    processes: alive && cgroup ? safely(() => cgroup.processes(), []).flatMap((pid) => processRecord(pid)) : [],
    logPath: state.logPath,
    pod: podOf(config),
    init: initOf(config, state),
    security: alive ? readSecurity(state.pid!, mounts, state.id, config) : null,
  };
}

/** The pulled or imported image the document was made from (its annotations); null for busybox. */
function imageRefOf(config: OciSpec): ContainerRecord['imageRef'] {
  const annotations = config.annotations ?? {};
  const digest = annotations[ANNOTATIONS.imageDigest];
  const id = annotations[ANNOTATIONS.imageId];
  return digest && id ? { name: annotations[ANNOTATIONS.image] ?? '', digest, id } : null;
}

function exposedPortsOf(config: OciSpec): string[] {
  const value = config.annotations?.[ANNOTATIONS.exposedPorts];
  const ports = value ? safely(() => JSON.parse(value) as unknown, []) : [];
  return Array.isArray(ports) ? ports.filter((port): port is string => typeof port === 'string') : [];
}

function podOf(config: OciSpec): ContainerRecord['pod'] {
  const name = config.annotations?.[ANNOTATIONS.pod];
  return name ? { name, sandbox: config.annotations?.[ANNOTATIONS.podSandbox] === 'true' } : null;
}

function initOf(config: OciSpec, state: ContainerState): ContainerRecord['init'] {
  const args = config.annotations?.[ANNOTATIONS.init];
  return args ? { args: JSON.parse(args) as string[], exitCode: state.initExitCode ?? null } : null;
}

function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

export function processRecord(pid: number): ProcessRecord[] {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    const nspids = field('NSpid').split(/\s+/).map(Number);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return [{
      pid,
      nspid: nspids[nspids.length - 1] ?? pid,
      ppid: Number(field('PPid')),
      command: cmdline || field('Name'),
      state: field('State').split(' ')[0] ?? '?',
    }];
  } catch {
    return [];
  }
}

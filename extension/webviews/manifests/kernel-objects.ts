/*
 * The kernel objects a manifest field turns into, described from a container record — which the
 * agent builds from the kernel's own files (/proc/<pid>/ns/*, the cgroup's files,
 * /proc/<pid>/mountinfo) each time it is asked. The page shows these next to the field: "this line
 * of YAML became *this* inode / *this* number in *this* file".
 */
import type { ContainerRecord, NamespaceType, SeccompProfileName } from '../../../agent/protocol';
import { cgroupLimitFiles, type LimitName } from '../anatomy/cgroup-limits';

export type KernelObject =
  | { kind: 'namespace'; type: NamespaceType; inode: number | null; file: string; sharedWithHost: boolean; detail?: string }
  | { kind: 'cgroup'; limit: LimitName; file: string | null; value: string; meaning: string }
  | { kind: 'uts'; file: string; inode: number | null; value: string | null }
  | { kind: 'process'; pid: number | null; file: string; value: string | null }
  | { kind: 'mount'; target: string; file: string; value: string | null }
  /**
   * The device rules as the kernel holds them: cgroup v1's devices.list (its lines), and/or the
   * ids of the eBPF programs attached to the cgroup v2 directory. Null list/programs: no such mechanism.
   */
  | { kind: 'devices'; mechanisms: string[]; rules: string[]; listFile: string | null; list: string[] | null; programDirectory: string | null; programs: number[] | null }
  /** The session keyring: its name in /proc/keys, and whether the kernel lists it (own: null when not running). */
  | { kind: 'keyring'; file: '/proc/keys'; name: string; own: boolean | null };

function procFile(record: Pick<ContainerRecord, 'pid'>, rest: string): string {
  return `/proc/${record.pid ?? '<pid>'}/${rest}`;
}

export function namespaceObject(record: ContainerRecord, type: NamespaceType, detail?: string): KernelObject {
  return {
    kind: 'namespace',
    type,
    inode: record.namespaces[type] ?? null,
    file: procFile(record, `ns/${type}`),
    sharedWithHost: record.sharedWithHost.includes(type),
    ...(detail ? { detail } : {}),
  };
}

export function cgroupObject(record: ContainerRecord, limit: LimitName): KernelObject | null {
  if (!record.cgroup) return null;
  const found = cgroupLimitFiles(record.cgroup).find((entry) => entry.name === limit)!;
  return { kind: 'cgroup', limit, file: found.file, value: found.value, meaning: found.meaning };
}

/** The hostname lives in the uts namespace: sethostname() changes it for that namespace only. */
export function utsObject(record: ContainerRecord): KernelObject {
  return { kind: 'uts', file: procFile(record, 'ns/uts'), inode: record.namespaces.uts ?? null, value: record.hostname };
}

/**
 * The container's first process: what it runs (cmdline), who it runs as and whether it may gain
 * privileges (status: Uid, Gid, NoNewPrivs), and files the record does not read (value null).
 */
export function processObject(record: ContainerRecord, file: 'cmdline' | 'environ' | 'cwd' | 'status', field?: 'user' | 'noNewPrivileges' | 'capabilities' | 'seccomp' | 'privileged'): KernelObject {
  const first = record.processes.find((process) => process.pid === record.pid);
  const security = record.security ?? null;
  let value: string | null = null;
  if (file === 'cmdline') value = first?.command ?? null;
  else if (file === 'status' && security && field === 'user') value = `Uid: ${security.uid}  Gid: ${security.gid}`;
  else if (file === 'status' && security && field === 'noNewPrivileges') value = `NoNewPrivs: ${security.noNewPrivileges ? 1 : 0}`;
  else if (file === 'status' && security && field === 'capabilities') value = `CapBnd: ${security.capabilities.bounding.join(' ') || '(none)'}  CapEff: ${security.capabilities.effective.join(' ') || '(none)'}`;
  else if (file === 'status' && security && field === 'seccomp') value = `${seccompLine(security.seccomp)}  profile: ${SECCOMP_PROFILE_TEXT[security.seccompProfile ?? 'custom']}`;
  else if (file === 'status' && security && field === 'privileged') value = `${seccompLine(security.seccomp)}  NoNewPrivs: ${security.noNewPrivileges ? 1 : 0}  CapEff: ${security.capabilities.effective.length} capabilities`;
  return { kind: 'process', pid: record.pid, file: procFile(record, file), value };
}

/** What the profile names mean, in the words a learner reads next to "Seccomp: 2". */
export const SECCOMP_PROFILE_TEXT: Record<SeccompProfileName, string> = {
  default: 'the runtime\'s default (Docker-like)',
  custom: 'a custom profile',
  unconfined: 'unconfined (none)',
};

/** The Seccomp line of /proc/<pid>/status: 0 none, 1 strict, 2 filter. */
export function seccompLine(mode: 'disabled' | 'strict' | 'filter'): string {
  return `Seccomp: ${mode === 'filter' ? '2 (filter)' : mode === 'strict' ? '1 (strict)' : '0 (none)'}`;
}

/** The device cgroup: devices.list on v1, the attached eBPF program(s) on v2 — whichever this host has. */
export function devicesObject(record: ContainerRecord): KernelObject | null {
  const devices = record.cgroup?.devices;
  if (!record.cgroup || !devices) return null;
  return {
    kind: 'devices',
    mechanisms: devices.mechanisms,
    rules: devices.rules,
    listFile: devices.mechanisms.includes('devices.list') ? record.cgroup.files.devices ?? null : null,
    list: devices.list ?? null,
    programDirectory: devices.mechanisms.includes('ebpf') ? record.cgroup.directories.unified ?? null : null,
    programs: devices.programs ?? null,
  };
}

/** The session keyring the first process joined, as /proc/keys on the host lists it (`_ses.<id>`). */
export function keyringObject(record: ContainerRecord): KernelObject {
  return { kind: 'keyring', file: '/proc/keys', name: `_ses.${record.id}`, own: record.security ? record.security.sessionKeyring : null };
}

/** A mount as /proc/<pid>/mountinfo shows it: "overlay on / type overlay (lowerdir=…)". */
export function mountObject(record: ContainerRecord, target: string): KernelObject {
  // The last mount on a target is the one a path lookup sees.
  const mount = [...record.mounts].reverse().find((entry) => entry.target === target);
  return {
    kind: 'mount',
    target,
    file: procFile(record, 'mountinfo'),
    value: mount ? `${mount.source} on ${mount.target} type ${mount.fstype} (${mount.options})` : null,
  };
}

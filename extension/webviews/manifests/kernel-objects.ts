/*
 * The kernel objects a manifest field turns into, described from a container record — which the
 * agent builds from the kernel's own files (/proc/<pid>/ns/*, the cgroup's files,
 * /proc/<pid>/mountinfo) each time it is asked. The page shows these next to the field: "this line
 * of YAML became *this* inode / *this* number in *this* file".
 */
import type { ContainerRecord, NamespaceType } from '../../../agent/protocol';
import { cgroupLimitFiles, type LimitName } from '../anatomy/cgroup-limits';

export type KernelObject =
  | { kind: 'namespace'; type: NamespaceType; inode: number | null; file: string; sharedWithHost: boolean; detail?: string }
  | { kind: 'cgroup'; limit: LimitName; file: string | null; value: string; meaning: string }
  | { kind: 'uts'; file: string; inode: number | null; value: string | null }
  | { kind: 'process'; pid: number | null; file: string; value: string | null }
  | { kind: 'mount'; target: string; file: string; value: string | null };

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
export function processObject(record: ContainerRecord, file: 'cmdline' | 'environ' | 'cwd' | 'status', field?: 'user' | 'noNewPrivileges' | 'capabilities' | 'seccomp'): KernelObject {
  const first = record.processes.find((process) => process.pid === record.pid);
  const security = record.security ?? null;
  let value: string | null = null;
  if (file === 'cmdline') value = first?.command ?? null;
  else if (file === 'status' && security && field === 'user') value = `Uid: ${security.uid}  Gid: ${security.gid}`;
  else if (file === 'status' && security && field === 'noNewPrivileges') value = `NoNewPrivs: ${security.noNewPrivileges ? 1 : 0}`;
  else if (file === 'status' && security && field === 'capabilities') value = `CapBnd: ${security.capabilities.bounding.join(' ') || '(none)'}  CapEff: ${security.capabilities.effective.join(' ') || '(none)'}`;
  else if (file === 'status' && security && field === 'seccomp') value = `Seccomp: ${security.seccomp === 'filter' ? '2 (filter)' : security.seccomp === 'strict' ? '1 (strict)' : '0 (none)'}`;
  return { kind: 'process', pid: record.pid, file: procFile(record, file), value };
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

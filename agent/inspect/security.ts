/*
 * What a container's first process may do, as the kernel reports it in /proc/<pid>/status:
 * its uid/gid, its capability sets (hex masks decoded to names), no_new_privs and its seccomp
 * mode — plus whether its root is mounted read-only (from its mountinfo). The config.json says
 * what was asked; this says what the kernel enforces.
 */
import { readFileSync } from 'node:fs';
import type { MountRecord, SecurityRecord } from '../protocol';
import { capabilitiesFromStatus } from '../runtime/capabilities';
import { seccompModeFromStatus } from '../runtime/seccomp';

export function readSecurity(pid: number, mounts: MountRecord[]): SecurityRecord | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const ids = (key: string) => (new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? '0');
  const caps = capabilitiesFromStatus(status);
  const root = mounts.find((mount) => mount.target === '/');
  return {
    uid: Number(ids('Uid')),
    gid: Number(ids('Gid')),
    capabilities: { effective: caps.effective, bounding: caps.bounding, ambient: caps.ambient },
    noNewPrivileges: /^NoNewPrivs:\s*1/m.test(status),
    seccomp: seccompModeFromStatus(status),
    readOnlyRoot: root ? root.options.split(',').includes('ro') : false,
  };
}

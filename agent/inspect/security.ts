/*
 * What a container's first process may do, as the kernel reports it in /proc/<pid>/status:
 * its uid/gid, its capability sets (hex masks decoded to names), no_new_privs and its seccomp
 * mode — plus whether its root is mounted read-only (from its mountinfo), which seccomp profile its
 * config.json names, and whether it has a session keyring of its own (from /proc/keys). The
 * config.json says what was asked; this says what the kernel enforces.
 */
import { readFileSync } from 'node:fs';
import type { MountRecord, OciSpec, SecurityRecord } from '../protocol';
import { capabilitiesFromStatus } from '../runtime/capabilities';
import { seccompModeFromStatus } from '../runtime/seccomp';
import { hasSessionKeyring } from '../runtime/process/session-keyring';
import { isDefaultSeccompProfile } from '../oci/default-seccomp';

export function readSecurity(pid: number, mounts: MountRecord[], containerId: string, config: OciSpec): SecurityRecord | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const ids = (key: string) => (new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? '0');
  const caps = capabilitiesFromStatus(status);
  const root = mounts.find((mount) => mount.target === '/');
  const seccomp = seccompModeFromStatus(status);
  return {
    uid: Number(ids('Uid')),
    gid: Number(ids('Gid')),
    capabilities: { effective: caps.effective, bounding: caps.bounding, ambient: caps.ambient },
    noNewPrivileges: /^NoNewPrivs:\s*1/m.test(status),
    seccomp,
    seccompProfile: seccompProfileOf(config, seccomp),
    sessionKeyring: hasSessionKeyring(containerId),
    readOnlyRoot: root ? root.options.split(',').includes('ro') : false,
  };
}

/*
 * Read from the document itself, not from its annotation: a --config document may carry any
 * annotation. A profile equal to the default for the container's bounding set is "default".
 * (A process under no filter of ours can still show Seccomp: 2 — when the agent itself runs
 * under one, every child inherits it — so "unconfined" is about the document, not the kernel.)
 */
function seccompProfileOf(config: OciSpec, mode: SecurityRecord['seccomp']): SecurityRecord['seccompProfile'] {
  const profile = config.linux?.seccomp;
  if (!profile) return 'unconfined';
  if (mode !== 'filter') return null;
  return isDefaultSeccompProfile(profile, config.process?.capabilities?.bounding ?? []) ? 'default' : 'custom';
}

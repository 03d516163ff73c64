/*
 * Check "capabilities": root's powers split into ~40 capabilities, and the filters on system
 * calls, as /proc/<pid>/status shows them for the container's main process: CapEff (the effective
 * set, a hex bitmask), Seccomp (0 none, 1 strict, 2 filter) and NoNewPrivs (1: execve can never
 * gain privileges). Kubernetes' securityContext.capabilities add/drop edit exactly this set.
 *
 * "Has nothing else" is a statement about every set, not one: a capability left in the bounding
 * set (CapBnd) or the permitted set (CapPrm) can be raised again, so `only` compares all three
 * with what the task allows, whole.
 */
import { readFileSync } from 'node:fs';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf, running, statusField } from './outcome';

/** Capability numbers from linux/capability.h, in order. */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

export function capabilityNames(mask: bigint): string[] {
  return CAPABILITY_NAMES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

const canonical = (name: string): string => (name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`);
const SECCOMP_MODES = ['disabled', 'strict', 'filter'] as const;

export function checkCapabilities(params: CheckParamsByKind['capabilities'], context: LabContext): void {
  const record = running(context, params.container);
  const status = readFileSync(`/proc/${record.pid}/status`, 'utf8');
  const effective = new Set(capabilityNames(BigInt(`0x${statusField(status, 'CapEff') ?? '0'}`)));
  if (params.only !== undefined) {
    const allowed = new Set(params.only.map(canonical));
    for (const field of ['CapEff', 'CapPrm', 'CapBnd']) {
      const present = capabilityNames(BigInt(`0x${statusField(status, field) ?? '0'}`));
      const extra = present.filter((name) => !allowed.has(name));
      failIf(extra.length > 0, `${field} still has ${extra.join(', ')}`);
    }
  }
  const missing = (params.has ?? []).map(canonical).filter((name) => !effective.has(name));
  failIf(missing.length > 0, `the main process lacks ${missing.join(', ')}`);
  const extra = (params.lacks ?? []).map(canonical).filter((name) => effective.has(name));
  failIf(extra.length > 0, `the main process still has ${extra.join(', ')}`);
  if (params.seccomp !== undefined) {
    const mode = SECCOMP_MODES[Number(statusField(status, 'Seccomp') ?? 0)] ?? 'unknown';
    failIf(mode !== params.seccomp, `seccomp mode is ${mode}`);
  }
  if (params.seccompProfile !== undefined) {
    // Every container has a filter (the runtime's default profile): whose it is tells them apart.
    const profile = record.security?.seccompProfile ?? null;
    failIf(profile !== params.seccompProfile, `its seccomp profile is ${profile === 'default' ? "the runtime's default" : (profile ?? 'none')}`);
  }
  if (params.noNewPrivs !== undefined) {
    const set = statusField(status, 'NoNewPrivs') === '1';
    failIf(set !== params.noNewPrivs, `no_new_privs is ${set ? 'set' : 'not set'}`);
  }
}

/*
 * What a container's processes may do, as steps for its launch: the capability sets, no_new_privs
 * and the compiled seccomp filter, all from the container's config.json. The first process and
 * every exec into the container get the same plan — `docker exec` is no way around a profile —
 * except an exec marked privileged (lab setup steps), which keeps root's full power.
 */
import { readFileSync } from 'node:fs';
import type { OciSpec } from '../../protocol';
import { CAPABILITY_NAMES, capabilitiesFromStatus, capabilityName } from '../capabilities';
import { refuseCapabilitiesNotHeld } from '../held-capabilities';
import { compiledSeccomp, seccompModeFromStatus, type BpfInstruction } from '../seccomp';

export interface SecurityPlan {
  /** Undefined: leave the sets as they are (a document that names none). */
  capabilities: NonNullable<OciSpec['process']>['capabilities'];
  noNewPrivileges: boolean;
  seccomp: BpfInstruction[] | null;
}

export function securityPlanFor(spec: OciSpec): SecurityPlan | null {
  const processSpec = spec.process;
  // create has refused this already, before anything existed; an exec (runc exec --cap) is checked here.
  refuseCapabilitiesNotHeld(spec);
  const seccomp = spec.linux?.seccomp ? compiledSeccomp(spec.linux.seccomp) : null;
  if (!processSpec?.capabilities && !processSpec?.noNewPrivileges && !seccomp) return null;
  return { capabilities: processSpec?.capabilities, noNewPrivileges: processSpec?.noNewPrivileges === true, seccomp };
}

/**
 * The kernel's word that the plan took effect: the child program cannot check its own steps, so
 * after execve the agent reads /proc/<pid>/status. Null when it holds, else what differs. A
 * process that has already exited has nothing left to check.
 */
export function securityMismatch(pid: number, plan: SecurityPlan | null): string | null {
  if (!plan) return null;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  if (/^State:\s*Z/m.test(status)) return null;
  if (plan.capabilities) {
    // The two sets execve(2) leaves as they were set: a failed capset(2) shows as an empty inheritable set.
    // (Effective and permitted are recomputed at execve — for root, from the bounding set — and
    // ambient is cleared for a set-user-ID program: neither can be compared with config.json here.)
    const held = capabilitiesFromStatus(status);
    for (const set of ['bounding', 'inheritable'] as const) {
      const asked = new Set((plan.capabilities[set] ?? []).map(capabilityName));
      const wanted = CAPABILITY_NAMES.filter((name) => asked.has(name));
      if (held[set].join() !== wanted.join()) return `${set} capabilities are ${held[set].join(',') || 'none'}, not ${wanted.join(',') || 'none'}`;
    }
  }
  if (plan.seccomp && seccompModeFromStatus(status) !== 'filter') return 'no seccomp filter is installed';
  if (plan.noNewPrivileges && !/^NoNewPrivs:\s*1/m.test(status)) return 'no_new_privs is not set';
  return null;
}

/**
 * Before execve — a first process parked on its exec FIFO (runc's create) — the kernel holds
 * exactly the sets it was given, so all five are compared: a capset(2) that failed shows here.
 * Null when they hold (or when the document names none), else what differs.
 *
 * One exception, runc's: an ambient capability must also be permitted and inheritable, and one
 * that is not is left out without an error — runc's own default config.json (`runc spec`) lists
 * three ambient capabilities and no inheritable ones, and runc 1.1 runs it with CapAmb 0.
 */
export function capabilitySetsMismatch(pid: number, capabilities: SecurityPlan['capabilities']): string | null {
  if (!capabilities) return null;
  const held = capabilitiesFromStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const asked = (set: keyof NonNullable<SecurityPlan['capabilities']>): Set<string> => new Set((capabilities[set] ?? []).map(capabilityName));
  const raisable = (name: string): boolean => asked('permitted').has(name) && asked('inheritable').has(name);
  for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
    const wanted = CAPABILITY_NAMES.filter((name) => asked(set).has(name) && (set !== 'ambient' || raisable(name)));
    if (held[set].join() !== wanted.join()) return `${set} capabilities are ${held[set].join(',') || 'none'}, not ${wanted.join(',') || 'none'}`;
  }
  return null;
}

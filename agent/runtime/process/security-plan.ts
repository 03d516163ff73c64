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

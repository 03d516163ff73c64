/*
 * Capabilities: root's power, cut into pieces.
 *
 * The kernel does not ask "is this uid 0?" before a privileged operation; it asks "does this
 * process hold CAP_NET_ADMIN?" (or CAP_SYS_ADMIN, CAP_CHOWN, … — 41 of them on Linux 6). Each
 * process carries five sets of them:
 *   bounding   — the most it can ever have again, even by exec'ing a setuid program;
 *   permitted  — what it may switch on;
 *   effective  — what the kernel checks right now;
 *   inheritable, ambient — what survives execve into a program without file capabilities.
 * A container's "root" is therefore only as strong as these sets. Like Docker, the lab gives a
 * container 14 harmless ones by default: it can chown files and bind port 80, but not mount,
 * not change the network (CAP_NET_ADMIN), not load modules. `--cap-add` / `--cap-drop` (or a
 * Pod's securityContext.capabilities) change the list; /proc/<pid>/status shows the result.
 *
 * The sets are set by the container's first process itself, between the uid switch and execve
 * (see process/launch.ts): drop from the bounding set first (that needs CAP_SETPCAP, so while
 * still root), keep permitted across setresuid (PR_SET_KEEPCAPS), then capset(2) and raise ambient.
 */
import { readFileSync } from 'node:fs';
import type { OciProcess } from '../protocol';
import { CAPABILITY_NAMES, DEFAULT_CAPABILITIES, type CapabilityName } from '../protocol/capabilities';
import type { ChildProgram } from '../kernel/child-program';
import {
  LINUX_CAPABILITY_VERSION_3, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, PR_CAPBSET_DROP, PR_SET_KEEPCAPS,
} from '../kernel/constants';
import { badInput } from '../errors';

export { CAPABILITY_NAMES, DEFAULT_CAPABILITIES, type CapabilityName } from '../protocol/capabilities';

/** "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; unknown names are bad input. */
export function capabilityName(text: string): CapabilityName {
  const name = (text.toUpperCase().startsWith('CAP_') ? text : `CAP_${text}`).toUpperCase();
  if (!(CAPABILITY_NAMES as readonly string[]).includes(name)) {
    throw badInput(`unknown capability ${JSON.stringify(text)}: use a name such as NET_ADMIN or SYS_TIME (see capabilities(7))`);
  }
  return name as CapabilityName;
}

/** The default set with `add` added and `drop` removed ("ALL" in either means every capability). */
export function capabilitySet(add: string[] = [], drop: string[] = []): CapabilityName[] {
  const all = (list: string[]) => list.some((entry) => entry.toUpperCase() === 'ALL');
  const chosen = new Set<CapabilityName>(all(drop) ? [] : DEFAULT_CAPABILITIES);
  if (all(add)) CAPABILITY_NAMES.forEach((name) => chosen.add(name));
  else add.forEach((entry) => chosen.add(capabilityName(entry)));
  if (!all(drop)) drop.forEach((entry) => chosen.delete(capabilityName(entry)));
  // Added after the drops: `--cap-drop ALL --cap-add NET_BIND_SERVICE` keeps that one.
  if (all(drop)) add.filter((entry) => entry.toUpperCase() !== 'ALL').forEach((entry) => chosen.add(capabilityName(entry)));
  return CAPABILITY_NAMES.filter((name) => chosen.has(name));
}

/**
 * The OCI process.capabilities for one list, as Docker and Kubernetes write it: the list in the
 * bounding, permitted and effective sets, none inheritable or ambient. Root keeps them across
 * execve; a non-root user loses them all at execve (it has no file capabilities to gain from) —
 * which is why `runAsUser: 1000` with `capabilities.add` grants nothing in practice.
 */
export function ociCapabilities(list: CapabilityName[]): NonNullable<OciProcess['capabilities']> {
  return { bounding: [...list], effective: [...list], permitted: [...list], inheritable: [], ambient: [] };
}

function mask(names: string[] | undefined): bigint {
  let bits = 0n;
  for (const name of names ?? []) bits |= 1n << BigInt(CAPABILITY_NAMES.indexOf(capabilityName(name)));
  return bits;
}

export function namesOf(bits: bigint): CapabilityName[] {
  return CAPABILITY_NAMES.filter((_, index) => (bits >> BigInt(index)) & 1n);
}

let kernelLastCapability: number | undefined;

/** The highest capability this kernel knows (newer kernels know more than CAPABILITY_NAMES lists); read once, it cannot change. */
function lastCapability(): number {
  if (kernelLastCapability === undefined) {
    try {
      kernelLastCapability = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    } catch {
      kernelLastCapability = CAPABILITY_NAMES.length - 1;
    }
  }
  return kernelLastCapability;
}

/** Steps run while still root, before the uid switch: shrink the bounding set, keep permitted across setresuid. */
export function appendBoundingDrops(program: ChildProgram, capabilities: OciProcess['capabilities']): void {
  const keep = mask(capabilities?.bounding);
  const last = lastCapability();
  for (let cap = 0; cap <= last; cap += 1) {
    if (!((keep >> BigInt(cap)) & 1n)) program.syscall('prctl', PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
  program.syscall('prctl', PR_SET_KEEPCAPS, 1, 0, 0, 0);
}

/** Steps run after the uid switch: set effective/permitted/inheritable with capset(2), then raise ambient ones. */
export function appendCapabilitySets(program: ChildProgram, capabilities: OciProcess['capabilities']): void {
  const header = program.arena.zeroed(8, 4);
  const headerOffset = program.arena.offsetOf(header);
  program.arena.bytes.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, headerOffset);
  program.arena.bytes.writeInt32LE(0, headerOffset + 4); // pid 0: this process
  // struct __user_cap_data_struct[2]: { effective, permitted, inheritable } for bits 0-31, then 32-63.
  const data = program.arena.zeroed(24, 4);
  const dataOffset = program.arena.offsetOf(data);
  const sets = [mask(capabilities?.effective), mask(capabilities?.permitted), mask(capabilities?.inheritable)];
  sets.forEach((bits, index) => {
    program.arena.bytes.writeUInt32LE(Number(bits & 0xffffffffn), dataOffset + 4 * index);
    program.arena.bytes.writeUInt32LE(Number(bits >> 32n), dataOffset + 12 + 4 * index);
  });
  program.syscall('capset', header, data);
  for (const name of capabilities?.ambient ?? []) {
    program.syscall('prctl', PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAPABILITY_NAMES.indexOf(capabilityName(name)), 0, 0);
  }
}

/** A process's five sets as the kernel reports them in /proc/<pid>/status. */
export interface ProcessCapabilities {
  effective: CapabilityName[];
  permitted: CapabilityName[];
  bounding: CapabilityName[];
  inheritable: CapabilityName[];
  ambient: CapabilityName[];
}

export function capabilitiesFromStatus(status: string): ProcessCapabilities {
  const field = (key: string): bigint => {
    const match = new RegExp(`^${key}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    return match ? BigInt(`0x${match[1]}`) : 0n;
  };
  return {
    effective: namesOf(field('CapEff')),
    permitted: namesOf(field('CapPrm')),
    bounding: namesOf(field('CapBnd')),
    inheritable: namesOf(field('CapInh')),
    ambient: namesOf(field('CapAmb')),
  };
}

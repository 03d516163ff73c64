/*
 * What a runtime can hand on: no process can give its child a capability outside its own bounding
 * set. Root is not always all-powerful — this host's root, for one, lacks CAP_SYS_RESOURCE
 * (`grep Cap /proc/self/status`: CapBnd 000001fffeffffff, bit 24 clear) — and a config.json that
 * asks for such a capability would make the first process's capset(2) fail with EPERM. The child
 * program cannot branch on that failure (../kernel/child-program.ts): it would go on with empty
 * inheritable and ambient sets, silently not what config.json says. So the runtime compares the
 * requested sets with its own bounding set first and refuses in one line, as runc refuses the same
 * document ("unable to apply caps").
 *
 * A user namespace changes the question: a process entering a new or joined one gets every
 * capability (bounding set included) inside it, whatever it held outside — so there is nothing to
 * compare then.
 */
import { readFileSync } from 'node:fs';
import type { OciSpec } from '../protocol';
import { CAPABILITY_NAMES, type CapabilityName } from '../protocol/capabilities';
import { configFieldError } from '../oci/validate';
import { capabilitiesFromStatus } from './capabilities';

/** The runtime's own bounding set, from /proc/self/status (every name if it cannot be read). */
export function heldCapabilities(status?: string): CapabilityName[] {
  try {
    return capabilitiesFromStatus(status ?? readFileSync('/proc/self/status', 'utf8')).bounding;
  } catch {
    return [...CAPABILITY_NAMES];
  }
}

/** "sys_resource" or "CAP_SYS_RESOURCE" → "CAP_SYS_RESOURCE" (without refusing unknown names). */
function canonical(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/** The five sets in the order the runtime applies them (bounding first). */
const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

/**
 * Throws one line naming the first set of `spec`'s process.capabilities that asks for a capability
 * outside `held`, and every such capability in it. Unknown names are left to the name check (they
 * are refused there as unknown, not as missing).
 */
export function refuseCapabilitiesNotHeld(spec: OciSpec, held: readonly CapabilityName[] = heldCapabilities()): void {
  const capabilities = spec.process?.capabilities;
  if (!capabilities) return;
  if (spec.linux?.namespaces?.some((entry) => entry.type === 'user')) return;
  for (const set of SETS) {
    const missing = [...new Set((capabilities[set] ?? []).map(canonical))]
      .filter((name): name is CapabilityName => (CAPABILITY_NAMES as readonly string[]).includes(name) && !held.includes(name as CapabilityName));
    if (missing.length === 0) continue;
    const list = missing.length === 1 ? `${missing[0]} is` : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)} are`;
    throw configFieldError(['process', 'capabilities', set], `${list} not in this runtime's bounding set (the host does not grant ${missing.length === 1 ? 'it' : 'them'})`);
  }
}

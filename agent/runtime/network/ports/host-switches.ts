/*
 * Two kernel switches that NAT on this host needs, and how the agent gives them back.
 *
 * net.ipv4.ip_forward — whether the host routes packets between its interfaces at all. A Linux
 * machine is a host, not a router, until this is 1: a packet from a container (arriving on the
 * bridge) for the outside world (leaving by eth0), or from the outside for a published port (in
 * by eth0, out by the bridge), or from one container to another's published port through the host
 * (in and out by the bridge: the hairpin) is dropped instead of forwarded. Connections the host
 * itself makes to a published port never need it: they are made here and leave once.
 * Writing it is not free: the kernel then resets every interface's `forwarding` and the
 * `accept_redirects` default to a router's (or a host's) values.
 *
 * net.ipv4.conf.<bridge>.route_localnet — whether 127.0.0.0/8 may be routed on that interface.
 * A connection from the host to 127.0.0.1:8080 has source 127.0.0.1; once DNAT points it at a
 * container, it must leave by the bridge, and the kernel refuses to send (or receive the answer
 * for) a loopback address anywhere but `lo` unless route_localnet is 1 there. It also lets the
 * containers on that bridge send to 127.0.0.1 and reach services the host meant for itself alone —
 * which ./nat-table.ts' guard rule forbids for any connection the bridge starts.
 *
 * The agent switches each on only when a rule of its table needs it (ip_forward while the table
 * exists, route_localnet while a container on that bridge publishes a port) and writes down that
 * it did, with the previous value, in /run (gone at reboot, as the switches' values are). When
 * the need ends it switches back only what it switched on itself. ip_forward is the host's, and
 * something else may have come to rely on it since (Docker, libvirt, a VPN: they switch it on
 * too, and install NAT rules of their own), so the agent leaves it on — and forgets its note —
 * when another table in the ruleset has a nat chain; only a host that does no NAT but the agent's
 * gets its 0 back.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasErrno } from '../../../kernel/errors';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const routeLocalnet = (bridge: string): string => `/proc/sys/net/ipv4/conf/${bridge}/route_localnet`;

const IP_FORWARD_NOTE = 'ip_forward.before';
const routeLocalnetNote = (bridge: string): string => `route_localnet.${bridge}.before`;

function readSwitch(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return null;
    throw error;
  }
}

/** Sets `path` to 1 if it is 0, noting in `notes/note` that the agent did. */
function raise(path: string, notes: string, note: string): void {
  const value = readSwitch(path);
  if (value === null || value === '1') return;
  writeFileSync(join(notes, note), `${value}\n`, { mode: 0o600 });
  writeFileSync(path, '1');
}

/** Puts back what raise() changed; `keep()` true: leave the switch as it is and only forget the note. */
function restore(path: string, notes: string, note: string, keep = (): boolean => false): void {
  const previous = readSwitch(join(notes, note));
  if (previous === null) return;
  // Gone with its interface (a deleted bridge takes its conf/ directory along): nothing to put back.
  if (readSwitch(path) !== null && !keep()) writeFileSync(path, previous);
  rmSync(join(notes, note), { force: true });
}

export function raiseIpForward(notes: string): void {
  raise(IP_FORWARD, notes, IP_FORWARD_NOTE);
}

/** `othersDoNat()`: another table has a nat chain, so forwarding is probably someone else's need too. */
export function restoreIpForward(notes: string, othersDoNat: () => boolean): void {
  restore(IP_FORWARD, notes, IP_FORWARD_NOTE, othersDoNat);
}

export function raiseRouteLocalnet(notes: string, bridge: string): void {
  raise(routeLocalnet(bridge), notes, routeLocalnetNote(bridge));
}

export function restoreRouteLocalnet(notes: string, bridge: string): void {
  restore(routeLocalnet(bridge), notes, routeLocalnetNote(bridge));
}

/** What the agent noted it switched on (for inspection and tests): sysctl name → previous value. */
export function switchedOn(notes: string, bridges: string[]): Record<string, string> {
  const found: Record<string, string> = {};
  const forward = readSwitch(join(notes, IP_FORWARD_NOTE));
  if (forward !== null) found['net.ipv4.ip_forward'] = forward;
  for (const bridge of bridges) {
    const localnet = readSwitch(join(notes, routeLocalnetNote(bridge)));
    if (localnet !== null) found[`net.ipv4.conf.${bridge}.route_localnet`] = localnet;
  }
  return found;
}

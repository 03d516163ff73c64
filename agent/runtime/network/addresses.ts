/*
 * IP address management (IPAM): which container gets which address on a bridge's subnet.
 *
 * A bridge network is one IPv4 subnet, e.g. 10.77.0.0/24: the first 24 bits name the network,
 * the last 8 number the hosts on it. The all-zeros host (10.77.0.0) names the network itself and
 * the all-ones host (10.77.0.255) is its broadcast address, so neither is given out. The bridge
 * takes the first host address (10.77.0.1) and is every container's gateway; containers get the
 * lowest free address after it.
 *
 * The kernel keeps no such ledger: it happily lets two interfaces carry the same address and
 * then traffic goes astray. So the agent keeps one, persisted as JSON under
 * <stateDir>/network/<bridge>.json (written to a temporary file, synced and renamed, so neither a
 * crash nor a power loss leaves half a file) and an address stays taken until its container is
 * detached — even across agent restarts.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, conflict } from '../../errors';
import { writeAtomically } from '../../kernel/durable-files';

export interface Subnet {
  /** The network address, as a 32-bit unsigned number. */
  network: number;
  prefixLength: number;
  /** "10.77.0.0/24" */
  cidr: string;
}

/** One container's lease on the bridge's subnet. */
export interface Allocation {
  ip: string;
  vethHost: string;
  /** Set (before its rules are made) when the container publishes ports: detach then removes them (./ports/). */
  published?: boolean;
}

/** What <stateDir>/network/<bridge>.json holds. */
export interface BridgeLedger {
  bridge: string;
  subnet: string;
  gateway: string;
  prefixLength: number;
  /** True when the agent created the bridge (so it is the agent's to delete). */
  createdBridge: boolean;
  allocations: Record<string, Allocation>;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIPv4(text: string): number | null {
  const match = IPV4.exec(text);
  if (!match) return null;
  const octets = match.slice(1).map(Number);
  if (octets.some((octet) => octet > 255)) return null;
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

/** An IPv4 address as the 4 bytes (network order) netlink attributes carry. */
export function ipv4Bytes(text: string): Buffer {
  const value = parseIPv4(text);
  if (value === null) throw badInput(`invalid IPv4 address "${text}"`);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}

const maskOf = (prefixLength: number): number => (prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0);

/** Parses "a.b.c.d/len" for a bridge network; the one-line error says what is wrong. */
export function parseSubnet(text: string): Subnet {
  const [address, length, extra] = String(text).split('/');
  const network = parseIPv4(address ?? '');
  if (network === null || length === undefined || extra !== undefined || !/^\d{1,2}$/.test(length)) {
    throw badInput(`invalid subnet "${text}": expected IPv4 CIDR notation such as 10.77.0.0/24`);
  }
  const prefixLength = Number(length);
  if (prefixLength > 32) throw badInput(`invalid subnet "${text}": prefix length must be 0–32`);
  if (prefixLength > 30) throw badInput(`subnet "${text}" is too small: it needs room for a gateway and a container (at most /30)`);
  if (prefixLength < 8) throw badInput(`subnet "${text}" is too large for a bridge network (at least /8)`);
  const mask = maskOf(prefixLength);
  if ((network & mask) >>> 0 !== network) {
    throw badInput(`invalid subnet "${text}": host bits are set (did you mean ${formatIPv4((network & mask) >>> 0)}/${prefixLength}?)`);
  }
  return { network, prefixLength, cidr: `${formatIPv4(network)}/${prefixLength}` };
}

/** The bridge's address: the first host of the subnet. */
export const gatewayOf = (subnet: Subnet): string => formatIPv4(subnet.network + 1);

/** The lowest host address neither the gateway nor leased; a conflict error when none is left. */
export function nextFreeAddress(subnet: Subnet, ledger: BridgeLedger): string {
  const taken = new Set(Object.values(ledger.allocations).map((allocation) => allocation.ip));
  const broadcast = subnet.network + 2 ** (32 - subnet.prefixLength) - 1;
  for (let host = subnet.network + 2; host < broadcast; host++) {
    const candidate = formatIPv4(host);
    if (!taken.has(candidate)) return candidate;
  }
  throw conflict(`subnet ${subnet.cidr} of bridge ${ledger.bridge} is exhausted: all ${broadcast - subnet.network - 2} container addresses are allocated`);
}

export const ledgerPath = (stateDir: string, bridge: string): string => join(stateDir, 'network', `${bridge}.json`);

export function readLedger(stateDir: string, bridge: string): BridgeLedger | null {
  let text: string;
  try {
    text = readFileSync(ledgerPath(stateDir, bridge), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return JSON.parse(text) as BridgeLedger;
}

/** Writes the ledger atomically: a reader sees the old file or the new one, never a mix. */
export function writeLedger(stateDir: string, ledger: BridgeLedger): void {
  mkdirSync(join(stateDir, 'network'), { recursive: true, mode: 0o700 });
  // Durably (../state/durable.ts): after a power loss a torn ledger would refuse every container
  // on this bridge, and a lost lease is what lets start-up find a lost container's address.
  writeAtomically(ledgerPath(stateDir, ledger.bridge), `${JSON.stringify(ledger, null, 2)}\n`);
}

export function deleteLedger(stateDir: string, bridge: string): void {
  rmSync(ledgerPath(stateDir, bridge), { force: true });
}

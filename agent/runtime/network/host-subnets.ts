/*
 * Which IPv4 ranges the host already uses. Two networks with overlapping subnets on one host break
 * both: the kernel gets two routes for the same addresses and sends each packet down only one of
 * them, and an address can exist twice. So a new bridge's subnet, and a lab's borrowed one, must
 * not overlap anything the host has: an address on any of its links (with its prefix) or a route
 * (/proc/net/route, the main table). The default route overlaps everything and forbids nothing.
 */
import { readFileSync } from 'node:fs';
import { dumpNamespace } from '../../inspect/links';
import type { RouteSocket } from '../../kernel/rtnetlink';
import { formatIPv4, parseIPv4 } from './addresses';

export interface HostRange {
  network: number;
  prefixLength: number;
  /** For messages: "address 10.77.0.1/24 on cl0", "route 10.0.0.0/8 on eth1". */
  where: string;
}

const maskOf = (prefixLength: number): number => (prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0);

export function overlaps(a: { network: number; prefixLength: number }, b: { network: number; prefixLength: number }): boolean {
  const mask = maskOf(Math.min(a.prefixLength, b.prefixLength));
  return ((a.network & mask) >>> 0) === ((b.network & mask) >>> 0);
}

/** Every address and route of the host's network namespace, and its link names. */
export function hostRanges(socket: RouteSocket): { ranges: HostRange[]; links: Set<string> } {
  const { links, addresses } = dumpNamespace(socket);
  const nameOf = new Map(links.map((link) => [link.index, link.name]));
  const ranges: HostRange[] = [];
  for (const [index, cidrs] of addresses) {
    for (const cidr of cidrs) {
      const [address, length] = cidr.split('/');
      const value = parseIPv4(address ?? '');
      if (value !== null) ranges.push({ network: value, prefixLength: Number(length ?? 32), where: `address ${cidr} on ${nameOf.get(index) ?? `link ${index}`}` });
    }
  }
  // "Iface Destination Gateway Flags RefCnt Use Metric Mask …": addresses in little-endian hex.
  const hex = (text: string): number => Buffer.from(text, 'hex').readUInt32LE(0);
  for (const line of readFileSync('/proc/net/route', 'utf8').trim().split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const mask = hex(fields[7]!);
    if (mask === 0) continue;
    const prefixLength = Math.clz32(~mask); // the mask's leading ones
    const network = hex(fields[1]!) >>> 0;
    ranges.push({ network, prefixLength, where: `route ${formatIPv4(network)}/${prefixLength} on ${fields[0]}` });
  }
  return { ranges, links: new Set(links.map((link) => link.name)) };
}

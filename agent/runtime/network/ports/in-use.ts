/*
 * Is a host port free? Two things can hold one, and DNAT would silently win over either.
 *
 *   - a program on the host listening on it. Its socket shows in /proc/net/tcp (state 0A, LISTEN)
 *     or /proc/net/udp (any socket bound to the port), and in their IPv6 twins, where "::" also
 *     takes IPv4 connections. These files describe the network namespace of the thread that reads
 *     them: read from the agent, the host's. Each line's local address is hexadecimal — the
 *     address as the kernel stores it (so 127.0.0.1 reads 0100007F on a little-endian machine),
 *     then the port, big-endian: 0100007F:1F90 is 127.0.0.1:8080. `ss -ltnu` reads the same.
 *   - another container publishing it: a rule in the agent's table (./nat-table.ts), found by its
 *     comment, the kernel's own copy of which container it serves.
 *
 * With a published port the container's answer overrides the program's: a learner would see the
 * wrong server and no error. So a taken port is refused in one line, before anything is made.
 * An address given with -p must also be one of this host's own.
 */
import { readFileSync } from 'node:fs';
import { badInput, conflict, quote } from '../../../errors';
import { dumpNamespace } from '../../../inspect/links';
import type { PublishedPort } from '../../../protocol';
import { formatIPv4 } from '../addresses';
import { withHostSocket } from '../netns';
import { ownerOf } from './nat-table';
import type { NftTableView } from './nft';
import { canonicalSpec, formatHostSide, formatPublishedPort, samePublishedPort } from './publish-syntax';

/** A socket holding a port on the host: its address ("0.0.0.0" for any) and port. */
export interface HostSocket {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
}

const TCP_LISTEN = '0A';

function ipv4FromHex(hex: string): string {
  return formatIPv4(Buffer.from(hex, 'hex').readUInt32LE(0) >>> 0);
}

/** An IPv6 socket's address, as the IPv4 address it accepts: "::" any, "::ffff:a.b.c.d" one; null: IPv6 only. */
function ipv4OfIpv6Hex(hex: string): string | null {
  if (/^0{32}$/.test(hex)) return '0.0.0.0';
  if (/^0{16}FFFF0000/i.test(hex)) return ipv4FromHex(hex.slice(24));
  return null;
}

function socketsIn(file: string, protocol: 'tcp' | 'udp', ipv6: boolean): HostSocket[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return []; // no IPv6 on this kernel
  }
  const sockets: HostSocket[] = [];
  for (const line of text.trim().split('\n').slice(1)) {
    const [, local, , state] = line.trim().split(/\s+/);
    if (!local || (protocol === 'tcp' && state !== TCP_LISTEN)) continue;
    const [addressHex, portHex] = local.split(':');
    const address = ipv6 ? ipv4OfIpv6Hex(addressHex ?? '') : ipv4FromHex(addressHex ?? '');
    if (address !== null) sockets.push({ protocol, address, port: parseInt(portHex ?? '0', 16) });
  }
  return sockets;
}

/** Every TCP listener and bound UDP socket of this network namespace that IPv4 can reach. */
export function hostSockets(): HostSocket[] {
  return [
    ...socketsIn('/proc/net/tcp', 'tcp', false),
    ...socketsIn('/proc/net/tcp6', 'tcp', true),
    ...socketsIn('/proc/net/udp', 'udp', false),
    ...socketsIn('/proc/net/udp6', 'udp', true),
  ];
}

function holds(socket: HostSocket, port: PublishedPort): boolean {
  return socket.protocol === port.protocol && socket.port === port.hostPort
    && (port.hostIp === null || socket.address === '0.0.0.0' || socket.address === port.hostIp);
}

/** The host's own addresses (every 127.x is one too: lo holds 127.0.0.1/8). */
function hostAddresses(): Set<string> {
  const { addresses } = withHostSocket((socket) => dumpNamespace(socket));
  return new Set([...addresses.values()].flatMap((cidrs) => cidrs.map((cidr) => cidr.split('/')[0]!)));
}

/**
 * Refuses, in one line, any of `ports` that a host program or another container holds, or that
 * names an address this host lacks. `table` is the agent's table as read (null: none yet).
 */
export function refuseTakenPorts(ports: PublishedPort[], table: NftTableView | null): void {
  if (ports.length === 0) return;
  const addresses = ports.some((port) => port.hostIp !== null) ? hostAddresses() : new Set<string>();
  for (const port of ports) {
    if (port.hostIp !== null && !port.hostIp.startsWith('127.') && !addresses.has(port.hostIp)) {
      throw badInput(`-p ${quote(canonicalSpec(port))}: ${port.hostIp} is not an address of this host`);
    }
  }
  for (const rule of table?.rules ?? []) {
    const owner = ownerOf(rule.comment);
    if (owner.kind !== 'port' || owner.port === null) continue;
    const port = ports.find((wanted) => samePublishedPort(wanted, owner.port!));
    if (port) {
      throw conflict(`host port ${formatHostSide(port)} is already published by container ${owner.containerId.slice(0, 12)} (${formatPublishedPort(owner.port)}): choose another host port`);
    }
  }
  const sockets = hostSockets();
  for (const port of ports) {
    const socket = sockets.find((candidate) => holds(candidate, port));
    if (socket) {
      throw conflict(`host port ${formatHostSide(port)} is in use: a program on this host listens on ${socket.address}:${socket.port}/${socket.protocol} (choose another host port)`);
    }
  }
}

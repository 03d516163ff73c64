/*
 * `ip -j addr show` as a witness, on the host or inside a process's network namespace (through
 * nsenter): the links the kernel lists there, each with its addresses and, for a veth, the peer's
 * ifindex (link_index).
 */
import { execFileSync } from 'node:child_process';

export interface IpAddr {
  ifindex: number;
  ifname: string;
  /** The MAC address. */
  address?: string;
  link_type?: string;
  master?: string;
  link_index?: number;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

/** The links (with addresses) in `pid`'s network namespace, or the host's without a pid. */
export function ipAddr(pid?: number, args: string[] = []): IpAddr[] {
  const [command, prefix] = pid ? ['nsenter', ['-t', String(pid), '-n', 'ip']] : ['ip', []];
  return JSON.parse(execFileSync(command, [...prefix, '-j', 'addr', 'show', ...args], { encoding: 'utf8' }) || '[]') as IpAddr[];
}

/** A link's addresses as CIDR strings, sorted ("10.77.0.2/24"); with `family`, only those of that family. */
export function addressesOf(link: IpAddr, family?: 'inet' | 'inet6'): string[] {
  return link.addr_info.filter((info) => !family || info.family === family).map((info) => `${info.local}/${info.prefixlen}`).sort();
}

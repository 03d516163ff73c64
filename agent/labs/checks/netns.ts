/*
 * Check "netns": a named network namespace, as `ip netns` makes them — a namespace kept alive
 * without any process by a bind mount of its /proc/…/ns/net file at /run/netns/NAME. Present or
 * gone (a namespace nobody uses but a mount is a leak: its interfaces, addresses and routes stay),
 * an interface inside it up with an address, and the host's ping reaching an address in it
 * (behaviour: the veth cable is plugged in at both ends). Asked with `ip -j -n NAME`, the same
 * rtnetlink dump in that namespace.
 */
import { execFileSync } from 'node:child_process';
import { readMountinfoEntries } from '../../inspect/mountinfo';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { inSubnet } from './interface';
import { failIf } from './outcome';

interface IpAddress {
  ifname: string;
  flags: string[];
  operstate: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export function checkNetns(params: CheckParamsByKind['netns'], _context: LabContext): void {
  // Held means mounted: the file alone, once unmounted, names no namespace.
  const present = readMountinfoEntries('self').some((entry) => entry.target === `/run/netns/${params.name}` && entry.fstype === 'nsfs');
  if (params.present === false) {
    failIf(present, `/run/netns/${params.name} still holds a network namespace`);
    return;
  }
  failIf(!present, `no network namespace /run/netns/${params.name}`);
  if (params.ifname !== undefined) {
    let links: IpAddress[] = [];
    try {
      links = JSON.parse(execFileSync('ip', ['-j', '-n', params.name, 'address', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as IpAddress[];
    } catch {
      failIf(true, `cannot look into the namespace ${params.name}`);
    }
    const link = links.find((candidate) => candidate.ifname === params.ifname);
    failIf(!link, `${params.name} has ${links.map((candidate) => candidate.ifname).join(', ') || 'no interfaces'}, no ${params.ifname}`);
    if (params.up) failIf(!link!.flags.includes('UP'), `${params.ifname} in ${params.name} is down`);
    if (params.inSubnet !== undefined) {
      const addresses = (link!.addr_info ?? []).filter((info) => info.family === 'inet').map((info) => `${info.local}/${info.prefixlen}`);
      failIf(!addresses.some((cidr) => inSubnet(cidr, params.inSubnet!)), `${params.ifname} in ${params.name} has ${addresses.join(', ') || 'no IPv4 address'}`);
    }
  }
  if (params.pingable !== undefined) {
    let reached = true;
    try {
      execFileSync('ping', ['-c', '1', '-W', '2', params.pingable], { stdio: 'ignore' });
    } catch {
      reached = false;
    }
    failIf(!reached, `the host's ping to ${params.pingable} got no answer`);
  }
}

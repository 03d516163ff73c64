/*
 * Check "interface": a container's network interface as the kernel shows it, asked over
 * rtnetlink — inside the container's network namespace for its own end (eth0: up? which
 * address?) and in the host's for the other end of the veth pair (up? a port of which bridge?).
 * A veth pair is a virtual cable: both ends must be up, and the host end must be plugged into the
 * bridge the other containers are on.
 */
import { IFF_UP } from '../../kernel/constants';
import { dumpNamespace } from '../../inspect/links';
import { parseIPv4, parseSubnet } from '../../runtime/network/addresses';
import { findLink, listIPv4Addresses } from '../../runtime/network/interfaces';
import { withHostSocket, withNetnsOf } from '../../runtime/network/netns';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, failIf, running } from './outcome';

export interface HostEnd {
  name: string;
  up: boolean;
  mtu: number;
  bridge: string | null;
}

/** The host end of a container's veth: its state and the bridge it is a port of. */
export function hostEnd(vethHost: string): HostEnd | null {
  return withHostSocket((socket) => {
    const { links } = dumpNamespace(socket);
    const link = links.find((candidate) => candidate.name === vethHost);
    if (!link) return null;
    const master = link.master === null ? null : (links.find((candidate) => candidate.index === link.master)?.name ?? null);
    return { name: link.name, up: (link.flags & IFF_UP) !== 0, mtu: link.mtu, bridge: master };
  });
}

export function inSubnet(cidr: string, subnetText: string): boolean {
  const subnet = parseSubnet(subnetText);
  const ip = parseIPv4(cidr.split('/')[0]!);
  if (ip === null) return false;
  const mask = subnet.prefixLength === 0 ? 0 : (~0 << (32 - subnet.prefixLength)) >>> 0;
  return ((ip & mask) >>> 0) === ((subnet.network & mask) >>> 0);
}

export function checkInterface(params: CheckParamsByKind['interface'], context: LabContext): void {
  const record = running(context, params.container);
  const ifname = params.ifname ?? 'eth0';
  const inside = withNetnsOf(record.pid, (socket) => {
    const link = findLink(socket, ifname);
    return link ? { up: (link.flags & IFF_UP) !== 0, mtu: link.mtu, addresses: listIPv4Addresses(socket, link.index) } : null;
  });
  if (params.present === false) {
    failIf(inside !== null, `"${params.container}" has an interface ${ifname}`);
    return;
  }
  failIf(inside === null, `"${params.container}" has no interface ${ifname}`);
  if (params.up !== undefined) failIf(inside!.up !== params.up, `${ifname} in "${params.container}" is ${inside!.up ? 'up' : 'down'}`);
  if (params.mtu !== undefined) failIf(inside!.mtu !== params.mtu, `${ifname} in "${params.container}" has MTU ${inside!.mtu}`);
  if (params.inSubnet !== undefined) {
    failIf(!inside!.addresses.some((cidr) => inSubnet(cidr, params.inSubnet!)), `${ifname} has ${inside!.addresses.join(', ') || 'no IPv4 address'}`);
  }
  if (params.hostSideUp !== undefined || params.hostSideMtu !== undefined || params.bridge !== undefined) {
    const vethHost = record.network.vethHost;
    if (!vethHost) throw new CheckFailed(`"${params.container}" has no veth pair`);
    const end = hostEnd(vethHost);
    if (!end) throw new CheckFailed(`the host end ${vethHost} of "${params.container}" is gone`);
    if (params.hostSideUp !== undefined) failIf(end.up !== params.hostSideUp, `host end ${vethHost} is ${end.up ? 'up' : 'down'}`);
    if (params.hostSideMtu !== undefined) failIf(end.mtu !== params.hostSideMtu, `host end ${vethHost} has MTU ${end.mtu}`);
    if (params.bridge !== undefined) failIf(end.bridge !== params.bridge, `host end ${vethHost} is ${end.bridge ? `a port of ${end.bridge}` : 'on no bridge'}`);
  }
}

/*
 * What `node add` and `node mode` refuse, in one line and before anything is made: a bad name,
 * address or subnet; a peer subnet that overlaps this node's, another peer's or a range the host
 * already has (two routes for one range send packets one way only); a VNI out of range or used
 * by a VXLAN device that is not the agent's.
 */
import { badInput, conflict } from '../../../errors';
import type { PeerNode } from '../../../protocol';
import { parseIPv4, parseSubnet } from '../addresses';
import { overlaps, type HostRange } from '../host-subnets';

const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
export const MAX_NODES = 64;

export function validatePeer(peer: PeerNode): PeerNode {
  if (typeof peer.name !== 'string' || !NODE_NAME.test(peer.name)) {
    throw badInput(`invalid node name "${String(peer.name).slice(0, 40)}": use 1–63 lowercase letters, digits, '.' or '-'`);
  }
  const address = parseIPv4(peer.address);
  if (address === null) throw badInput(`invalid node address "${String(peer.address).slice(0, 40)}": expected an IPv4 address such as 192.168.56.12`);
  const subnet = parseSubnet(peer.subnet);
  if (subnet.prefixLength > 30) throw badInput(`node subnet ${subnet.cidr} is too small: a node needs at least a /30`);
  return { name: peer.name, address: peer.address, subnet: subnet.cidr };
}

/** Refuses `peer` beside this node (`own` subnet and address) and the peers it already knows. */
export function refuseClashes(peer: PeerNode, own: { subnet: string; addresses: string[] }, known: PeerNode[], hostRanges: HostRange[]): void {
  if (known.some((node) => node.name === peer.name)) throw conflict(`node ${peer.name} is known already (node rm ${peer.name} first)`);
  if (known.length >= MAX_NODES) throw conflict(`this node knows ${MAX_NODES} peers already`);
  const subnet = parseSubnet(peer.subnet);
  if (overlaps(subnet, parseSubnet(own.subnet))) throw conflict(`node ${peer.name}'s subnet ${subnet.cidr} overlaps this node's ${own.subnet}: every node needs a subnet of its own`);
  for (const node of known) {
    if (overlaps(subnet, parseSubnet(node.subnet))) throw conflict(`node ${peer.name}'s subnet ${subnet.cidr} overlaps node ${node.name}'s ${node.subnet}`);
    if (node.address === peer.address) throw conflict(`address ${peer.address} is node ${node.name}'s already`);
  }
  if (own.addresses.includes(peer.address)) throw conflict(`${peer.address} is an address of this node, not of a peer`);
  const clash = hostRanges.find((range) => range.prefixLength > 0 && overlaps(range, subnet));
  if (clash) throw conflict(`node ${peer.name}'s subnet ${subnet.cidr} overlaps the host's ${clash.where}`);
}

export function validateVni(vni: number): number {
  if (!Number.isInteger(vni) || vni < 1 || vni > 0xffffff) throw badInput(`invalid VNI ${String(vni).slice(0, 20)}: expected 1–16777215`);
  return vni;
}

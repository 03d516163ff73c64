/*
 * veth: a virtual Ethernet cable.
 *
 * A veth pair is two network interfaces joined back to back: a frame sent into one end comes out
 * of the other. Its point is that the two ends may live in DIFFERENT network namespaces — one end
 * inside the container (renamed eth0, so programs there see an ordinary network card), the other
 * in the host, plugged into a bridge. That cable is the container's only way out of its private
 * network stack.
 *
 * The pair is created with a single RTM_NEWLINK whose IFLA_LINKINFO says kind "veth" and whose
 * VETH_INFO_PEER describes the other end, including IFLA_NET_NS_FD: the kernel creates the peer
 * directly in the container's namespace, already named eth0, so it never appears in the host
 * (no window where a host process could see or grab it). Deleting either end deletes both, and
 * when the container's namespace dies its end is destroyed, taking the host end with it. Both ends
 * may be born with a smaller MTU than Ethernet's 1500: on a bridge with a VXLAN port (./nodes/).
 */
import {
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_NEWLINK,
  VETH_INFO_PEER,
} from '../../kernel/constants';
import { RouteSocket, attr, encodeAttributes, encodeIfInfo, stringAttr, u32Attr } from '../../kernel/rtnetlink';

/** The host end's name for a container: "veth" + the first 11 characters of its id (15 max). */
export function vethNameFor(containerId: string): string {
  return `veth${containerId.slice(0, 11)}`;
}

/**
 * `ip link add HOST type veth peer name PEER netns <fd>`: creates the pair with `peerName` placed
 * straight into the namespace open at `peerNamespaceFd`.
 */
export function createVethPair(socket: RouteSocket, hostName: string, peerName: string, peerNamespaceFd: number, mtu?: number): void {
  // VETH_INFO_PEER's value is a whole ifinfomsg followed by the peer's own attributes.
  const mtuAttrs = mtu === undefined ? [] : [u32Attr(IFLA_MTU, mtu)];
  const peer = Buffer.concat([encodeIfInfo({}), encodeAttributes([stringAttr(IFLA_IFNAME, peerName), u32Attr(IFLA_NET_NS_FD, peerNamespaceFd), ...mtuAttrs])]);
  socket.request('RTM_NEWLINK veth', `${hostName} ⇄ ${peerName}`, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeIfInfo({}), [
    stringAttr(IFLA_IFNAME, hostName),
    ...mtuAttrs,
    attr(IFLA_LINKINFO, [stringAttr(IFLA_INFO_KIND, 'veth'), attr(IFLA_INFO_DATA, [attr(VETH_INFO_PEER, peer)])]),
  ]);
}

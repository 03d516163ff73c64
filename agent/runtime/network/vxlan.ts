/*
 * VXLAN: Ethernet frames carried inside UDP packets between hosts.
 *
 * A VXLAN device is a virtual Ethernet port whose "cable" is the IP network between nodes. A frame
 * sent into it is wrapped — an 8-byte VXLAN header carrying the 24-bit network identifier (VNI),
 * in a UDP datagram to port 4789, in an IP packet from this node's address (`local`) to the node
 * the forwarding database names for the frame's destination MAC — and unwrapped at the other end,
 * where the peer's VXLAN device with the same VNI hands it on as if it had come down a wire.
 *
 *   ip link add clvx42 address 0a:58:… mtu 1450 type vxlan id 42 local 192.168.5.1 dstport 4789 nolearning
 *
 * The wrapping costs 50 bytes per packet (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14),
 * so on a 1500-byte underlay the overlay carries at most 1450-byte IP packets: every interface
 * whose packets may take the tunnel must say so (its MTU), or a full-size packet with "don't
 * fragment" set vanishes — the classic MTU black hole.
 *
 * "nolearning": the device does not learn remote MACs from what arrives; the agent writes every
 * entry itself (./neighbours.ts). Two devices with one VNI and port cannot coexist in one
 * namespace: the kernel refuses the second ("A VXLAN device with the specified VNI already exists").
 */
import {
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MTU,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_TTL,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../../kernel/constants';
import {
  IFINFO_LENGTH,
  attr,
  attrU32,
  decodeAttributes,
  decodeLinkMessage,
  encodeIfInfo,
  messageAttributes,
  stringAttr,
  u32Attr,
  type RouteSocket,
} from '../../kernel/rtnetlink';
import { macBytes } from '../../kernel/rtnetlink-neighbours';
import { ipv4Bytes } from './addresses';

export const VXLAN_PORT = 4789;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + the inner frame's Ethernet header (14). */
export const VXLAN_OVERHEAD = 50;

export interface VxlanSpec {
  name: string;
  vni: number;
  /** This node's address on the network between nodes. */
  local: string;
  /** The link that address is on (the underlay). */
  underlay: number;
  mac: string;
  mtu: number;
}

const u8 = (type: number, value: number) => attr(type, Buffer.from([value]));

function bigEndian16(type: number, value: number) {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value, 0);
  return attr(type, buffer);
}

/** Creates the device (down; the caller attaches it to its bridge and brings it up). */
export function createVxlan(socket: RouteSocket, spec: VxlanSpec): void {
  socket.request(`RTM_NEWLINK vxlan id ${spec.vni}`, spec.name, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeIfInfo({}), [
    stringAttr(IFLA_IFNAME, spec.name),
    attr(IFLA_ADDRESS, macBytes(spec.mac)),
    u32Attr(IFLA_MTU, spec.mtu),
    attr(IFLA_LINKINFO, [
      stringAttr(IFLA_INFO_KIND, 'vxlan'),
      attr(IFLA_INFO_DATA, [
        u32Attr(IFLA_VXLAN_ID, spec.vni),
        attr(IFLA_VXLAN_LOCAL, ipv4Bytes(spec.local)),
        u32Attr(IFLA_VXLAN_LINK, spec.underlay),
        bigEndian16(IFLA_VXLAN_PORT, VXLAN_PORT), // __be16: network byte order
        u8(IFLA_VXLAN_TTL, 64),
        u8(IFLA_VXLAN_LEARNING, 0),
      ]),
    ]),
  ]);
}

/** Every VXLAN device in the socket's namespace, with its VNI. */
export function listVxlans(socket: RouteSocket): { index: number; name: string; vni: number }[] {
  const found: { index: number; name: string; vni: number }[] = [];
  for (const message of socket.dump('RTM_GETLINK', RTM_GETLINK, encodeIfInfo({}))) {
    const link = decodeLinkMessage(message);
    if (link.kind !== 'vxlan') continue;
    const linkInfo = messageAttributes(message, IFINFO_LENGTH).get(IFLA_LINKINFO);
    const data = linkInfo ? decodeAttributes(linkInfo).get(IFLA_INFO_DATA) : undefined;
    const vni = data ? attrU32(decodeAttributes(data).get(IFLA_VXLAN_ID)) : null;
    found.push({ index: link.index, name: link.name, vni: vni ?? -1 });
  }
  return found;
}

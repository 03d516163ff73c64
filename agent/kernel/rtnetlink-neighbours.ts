/*
 * rtnetlink neighbour messages: the language of `ip neigh` and `bridge fdb`.
 *
 * Both tables speak one family header, `struct ndmsg` (12 bytes: family, ifindex, state, flags,
 * type), followed by attributes — NDA_DST (an IP address, or for the forwarding database the
 * remote end of a tunnel) and NDA_LLADDR (a MAC address):
 *
 *   ip neigh replace 10.1.2.1 lladdr 0a:58:… dev br0 nud permanent
 *     RTM_NEWNEIGH ndmsg{AF_INET, br0, NUD_PERMANENT}            NDA_DST 10.1.2.1  NDA_LLADDR 0a:58:…
 *   bridge fdb append 0a:58:… dev vx0 dst 192.168.5.2 self permanent
 *     RTM_NEWNEIGH ndmsg{AF_BRIDGE, vx0, NUD_PERMANENT, NTF_SELF} NDA_LLADDR 0a:58:…  NDA_DST 192.168.5.2
 *
 * The neighbour table (ARP for IPv4) maps a next hop's IP address to its MAC address; a
 * "permanent" entry is never asked for on the wire and never expires. The forwarding database
 * (FDB) maps a MAC address to where frames for it go: for a bridge (NTF_MASTER) which port, for
 * a VXLAN device (NTF_SELF) which remote host to send the encapsulated frame to.
 */
import { NDA_DST, NDA_LLADDR } from './constants';
import { attrU32, formatIp, formatMac, messageAttributes, type NetlinkMessage } from './rtnetlink';

/** struct ndmsg */
export interface NdInfo {
  family: number;
  index: number;
  state: number;
  flags: number;
  type: number;
}

export const NDMSG_LENGTH = 12;

export function encodeNdInfo(info: Partial<NdInfo> = {}): Buffer {
  const buffer = Buffer.alloc(NDMSG_LENGTH);
  buffer.writeUInt8(info.family ?? 0, 0);
  buffer.writeInt32LE(info.index ?? 0, 4);
  buffer.writeUInt16LE(info.state ?? 0, 8);
  buffer.writeUInt8(info.flags ?? 0, 10);
  buffer.writeUInt8(info.type ?? 0, 11);
  return buffer;
}

export function decodeNdInfo(payload: Buffer): NdInfo {
  return {
    family: payload.readUInt8(0),
    index: payload.readInt32LE(4),
    state: payload.readUInt16LE(8),
    flags: payload.readUInt8(10),
    type: payload.readUInt8(11),
  };
}

/** An RTM_NEWNEIGH message (neighbour or FDB entry) in readable form. */
export interface NeighbourMessage extends NdInfo {
  /** NDA_DST: the neighbour's IP, or an FDB entry's remote; null when absent. */
  dst: string | null;
  mac: string | null;
  /** NDA_MASTER (9): the bridge of an FDB entry. */
  master: number | null;
}

const NDA_MASTER = 9;

export function decodeNeighbourMessage(message: NetlinkMessage): NeighbourMessage {
  const attributes = messageAttributes(message, NDMSG_LENGTH);
  const dst = attributes.get(NDA_DST);
  return {
    ...decodeNdInfo(message.payload),
    dst: dst ? formatIp(dst) : null,
    mac: formatMac(attributes.get(NDA_LLADDR)),
    master: attrU32(attributes.get(NDA_MASTER)),
  };
}

/** "0a:58:0a:01:02:00" → its six bytes. */
export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((part) => Number.parseInt(part, 16)));
}


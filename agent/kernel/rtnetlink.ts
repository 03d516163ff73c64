/*
 * rtnetlink messages: the language `ip` speaks to the kernel.
 *
 * Every netlink message starts with a 16-byte `struct nlmsghdr` (length, type, flags, sequence
 * number, port id). For rtnetlink a fixed "family header" follows — `struct ifinfomsg` for links,
 * `struct ifaddrmsg` for addresses, `struct rtmsg` for routes — and then a list of attributes.
 * Each attribute (`struct rtattr`) is type-length-value: 2 bytes length, 2 bytes type, the value,
 * padded to 4 bytes. An attribute's value may itself be a list of attributes ("nested"): that is
 * how `ip link add veth0 type veth peer name eth0 netns 1234` becomes
 *
 *   RTM_NEWLINK ifinfomsg{}  IFLA_IFNAME "veth0"
 *                            IFLA_LINKINFO { IFLA_INFO_KIND "veth"
 *                                            IFLA_INFO_DATA { VETH_INFO_PEER ifinfomsg{} IFLA_IFNAME "eth0"
 *                                                                                         IFLA_NET_NS_FD 7 } }
 *
 * A request carries NLM_F_REQUEST and, for changes, NLM_F_ACK: the kernel then answers with an
 * NLMSG_ERROR message whose error field is 0 on success or a negative errno. With
 * NETLINK_EXT_ACK switched on, it also says in words what was wrong ("Invalid prefix for given
 * prefix length"); RouteSocket puts both into a KernelError naming the operation and the link.
 * A dump request (NLM_F_DUMP) is answered by many NLM_F_MULTI messages ending with NLMSG_DONE.
 */
import { errorFor } from './libc';
import type { KernelError } from './errors';
import {
  IFA_ADDRESS,
  IFA_LOCAL,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MTU,
  NETLINK_EXT_ACK,
  NETLINK_ROUTE,
  NLMSGERR_ATTR_MSG,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  SOL_NETLINK,
} from './constants';
import {
  bindNetlink,
  closeSocket,
  openNetlinkSocket,
  receiveMessage,
  sendMessage,
  setReceiveBuffer,
  setSocketOption,
} from './sockets';

const HEADER_LENGTH = 16;
const ATTR_HEADER_LENGTH = 4;
const NLA_TYPE_MASK = 0x3fff; // strips NLA_F_NESTED / NLA_F_NET_BYTEORDER

export const align4 = (length: number): number => (length + 3) & ~3;

// ── Attributes ──────────────────────────────────────────────────────────────────────────────

/** One rtattr: a raw value, or a list of attributes nested inside it. */
export interface Attribute {
  type: number;
  value: Buffer | Attribute[];
}

export const attr = (type: number, value: Buffer | Attribute[]): Attribute => ({ type, value });

export function u32Attr(type: number, value: number): Attribute {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value >>> 0, 0);
  return { type, value: buffer };
}

export function s32Attr(type: number, value: number): Attribute {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value, 0);
  return { type, value: buffer };
}

/** A NUL-terminated string attribute (interface names, link kinds). */
export const stringAttr = (type: number, value: string): Attribute => ({ type, value: Buffer.from(`${value}\0`) });

export function encodeAttributes(attributes: Attribute[]): Buffer {
  const parts: Buffer[] = [];
  for (const attribute of attributes) {
    const value = Buffer.isBuffer(attribute.value) ? attribute.value : encodeAttributes(attribute.value);
    const header = Buffer.alloc(ATTR_HEADER_LENGTH);
    header.writeUInt16LE(ATTR_HEADER_LENGTH + value.length, 0);
    header.writeUInt16LE(attribute.type, 2);
    parts.push(header, value, Buffer.alloc(align4(value.length) - value.length));
  }
  return Buffer.concat(parts);
}

/** Decodes a list of attributes into type → value (the first occurrence wins). */
export function decodeAttributes(buffer: Buffer, offset = 0, end = buffer.length): Map<number, Buffer> {
  const attributes = new Map<number, Buffer>();
  while (offset + ATTR_HEADER_LENGTH <= end) {
    const length = buffer.readUInt16LE(offset);
    const type = buffer.readUInt16LE(offset + 2) & NLA_TYPE_MASK;
    if (length < ATTR_HEADER_LENGTH || offset + length > end) break;
    if (!attributes.has(type)) attributes.set(type, buffer.subarray(offset + ATTR_HEADER_LENGTH, offset + length));
    offset += align4(length);
  }
  return attributes;
}

/** A NUL-terminated string attribute's text. */
export function attrString(value: Buffer | undefined): string | null {
  if (!value) return null;
  const nul = value.indexOf(0);
  return value.subarray(0, nul < 0 ? value.length : nul).toString();
}

export const attrU32 = (value: Buffer | undefined): number | null => (value && value.length >= 4 ? value.readUInt32LE(0) : null);
export const attrS32 = (value: Buffer | undefined): number | null => (value && value.length >= 4 ? value.readInt32LE(0) : null);

// ── Family headers ──────────────────────────────────────────────────────────────────────────

/** struct ifinfomsg (16 bytes): which link, and which of its flags to change. */
export interface IfInfo {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

export function encodeIfInfo(info: Partial<IfInfo> = {}): Buffer {
  const buffer = Buffer.alloc(16);
  buffer.writeUInt8(info.family ?? 0, 0);
  buffer.writeUInt16LE(info.type ?? 0, 2);
  buffer.writeInt32LE(info.index ?? 0, 4);
  buffer.writeUInt32LE((info.flags ?? 0) >>> 0, 8);
  buffer.writeUInt32LE((info.change ?? 0) >>> 0, 12);
  return buffer;
}

export function decodeIfInfo(payload: Buffer): IfInfo {
  return {
    family: payload.readUInt8(0),
    type: payload.readUInt16LE(2),
    index: payload.readInt32LE(4),
    flags: payload.readUInt32LE(8),
    change: payload.readUInt32LE(12),
  };
}
export const IFINFO_LENGTH = 16;

/** struct ifaddrmsg (8 bytes): an address of one family with its prefix length, on one link. */
export interface IfAddr {
  family: number;
  prefixLength: number;
  flags: number;
  scope: number;
  index: number;
}

export function encodeIfAddr(info: Partial<IfAddr> = {}): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeUInt8(info.family ?? 0, 0);
  buffer.writeUInt8(info.prefixLength ?? 0, 1);
  buffer.writeUInt8(info.flags ?? 0, 2);
  buffer.writeUInt8(info.scope ?? 0, 3);
  buffer.writeUInt32LE(info.index ?? 0, 4);
  return buffer;
}

export function decodeIfAddr(payload: Buffer): IfAddr {
  return {
    family: payload.readUInt8(0),
    prefixLength: payload.readUInt8(1),
    flags: payload.readUInt8(2),
    scope: payload.readUInt8(3),
    index: payload.readUInt32LE(4),
  };
}
export const IFADDR_LENGTH = 8;

/** struct rtmsg (12 bytes): a route's destination length, table, origin, scope and type. */
export interface RouteInfo {
  family: number;
  dstLength: number;
  srcLength: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export function encodeRouteInfo(info: Partial<RouteInfo> = {}): Buffer {
  const buffer = Buffer.alloc(12);
  buffer.writeUInt8(info.family ?? 0, 0);
  buffer.writeUInt8(info.dstLength ?? 0, 1);
  buffer.writeUInt8(info.srcLength ?? 0, 2);
  buffer.writeUInt8(info.tos ?? 0, 3);
  buffer.writeUInt8(info.table ?? 0, 4);
  buffer.writeUInt8(info.protocol ?? 0, 5);
  buffer.writeUInt8(info.scope ?? 0, 6);
  buffer.writeUInt8(info.type ?? 0, 7);
  buffer.writeUInt32LE(info.flags ?? 0, 8);
  return buffer;
}

/** struct rtgenmsg, padded to 4 bytes: the header of RTM_GETNSID and of plain dumps. */
export function encodeGenericHeader(family: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt8(family, 0);
  return buffer;
}

// ── Messages ────────────────────────────────────────────────────────────────────────────────

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the nlmsghdr: family header then attributes. */
  payload: Buffer;
}

export function encodeMessage(type: number, flags: number, seq: number, header: Buffer, attributes: Attribute[] = []): Buffer {
  const body = Buffer.concat([header, Buffer.alloc(align4(header.length) - header.length), encodeAttributes(attributes)]);
  const nlmsghdr = Buffer.alloc(HEADER_LENGTH);
  nlmsghdr.writeUInt32LE(HEADER_LENGTH + body.length, 0);
  nlmsghdr.writeUInt16LE(type, 4);
  nlmsghdr.writeUInt16LE(flags, 6);
  nlmsghdr.writeUInt32LE(seq >>> 0, 8);
  nlmsghdr.writeUInt32LE(0, 12);
  return Buffer.concat([nlmsghdr, body]);
}

/** Splits one received datagram into its messages (a datagram may hold several). */
export function decodeMessages(buffer: Buffer, length: number): NetlinkMessage[] {
  const messages: NetlinkMessage[] = [];
  let offset = 0;
  while (offset + HEADER_LENGTH <= length) {
    const messageLength = buffer.readUInt32LE(offset);
    if (messageLength < HEADER_LENGTH || offset + messageLength > length) break;
    messages.push({
      type: buffer.readUInt16LE(offset + 4),
      flags: buffer.readUInt16LE(offset + 6),
      seq: buffer.readUInt32LE(offset + 8),
      pid: buffer.readUInt32LE(offset + 12),
      // Copied: the receive buffer is reused for the next datagram.
      payload: Buffer.from(buffer.subarray(offset + HEADER_LENGTH, offset + messageLength)),
    });
    offset += align4(messageLength);
  }
  return messages;
}

/** The attributes after a message's fixed family header. */
export const messageAttributes = (message: NetlinkMessage, familyHeaderLength: number): Map<number, Buffer> =>
  decodeAttributes(message.payload, align4(familyHeaderLength));

/** An NLMSG_ERROR message: the errno (0 = success) and the kernel's extended message, if any. */
export function decodeError(message: NetlinkMessage): { errno: number; detail: string | null } {
  const errno = -message.payload.readInt32LE(0);
  let detail: string | null = null;
  if (message.flags & NLM_F_ACK_TLVS) {
    // After the error code comes the request's nlmsghdr, then (unless capped) its payload.
    const requestLength = message.payload.length >= 8 ? message.payload.readUInt32LE(4) : HEADER_LENGTH;
    const tlvOffset = 4 + (message.flags & NLM_F_CAPPED ? HEADER_LENGTH : align4(requestLength));
    detail = attrString(decodeAttributes(message.payload, tlvOffset).get(NLMSGERR_ATTR_MSG));
  }
  return { errno, detail };
}

// ── The socket ──────────────────────────────────────────────────────────────────────────────

/**
 * A NETLINK_ROUTE socket for request/answer use: `request` for changes (waits for the ACK and
 * throws a KernelError naming `operation` and `target`), `dump` for listings. It acts in the
 * network namespace it was created in.
 */
export class RouteSocket {
  readonly fd: number;
  private sequence = Math.floor(Math.random() * 0x7fffffff);
  private readonly buffer = Buffer.alloc(256 * 1024);

  constructor() {
    this.fd = openNetlinkSocket(NETLINK_ROUTE, 'NETLINK_ROUTE');
    try {
      setReceiveBuffer(this.fd, 1024 * 1024);
      setSocketOption(this.fd, SOL_NETLINK, NETLINK_EXT_ACK, 1, 'NETLINK_EXT_ACK');
      bindNetlink(this.fd, 0);
    } catch (error) {
      closeSocket(this.fd);
      throw error;
    }
  }

  /** Sends a change and waits for the kernel's acknowledgement. */
  request(operation: string, target: string, type: number, flags: number, header: Buffer, attributes: Attribute[] = []): void {
    this.exchange(operation, target, encodeMessage(type, flags | NLM_F_REQUEST | NLM_F_ACK, this.nextSequence(), header, attributes));
  }

  /** Sends a request whose answer is one message (e.g. RTM_GETLINK by name), and returns it. */
  query(operation: string, target: string, type: number, header: Buffer, attributes: Attribute[] = []): NetlinkMessage {
    const answers = this.exchange(operation, target, encodeMessage(type, NLM_F_REQUEST, this.nextSequence(), header, attributes));
    const answer = answers[0];
    if (!answer) throw errorFor(operation, `${target} [no answer]`, 61 /* ENODATA */);
    return answer;
  }

  /** Sends a dump request and collects every message until NLMSG_DONE. */
  dump(operation: string, type: number, header: Buffer, attributes: Attribute[] = []): NetlinkMessage[] {
    return this.exchange(operation, 'dump', encodeMessage(type, NLM_F_REQUEST | NLM_F_DUMP, this.nextSequence(), header, attributes));
  }

  close(): void {
    closeSocket(this.fd);
  }

  private nextSequence(): number {
    this.sequence = (this.sequence + 1) & 0x7fffffff;
    return this.sequence;
  }

  /**
   * Sends `message` and reads answers with its sequence number until an ACK, an error, a
   * NLMSG_DONE, or (for a plain query) the single answer. Stray messages with other sequence
   * numbers (left from an earlier interrupted exchange) are skipped.
   */
  private exchange(operation: string, target: string, message: Buffer): NetlinkMessage[] {
    const seq = message.readUInt32LE(8);
    const flags = message.readUInt16LE(6);
    const isDump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    const wantsAck = (flags & NLM_F_ACK) !== 0;
    sendMessage(this.fd, message, `${operation}(${target})`);
    const answers: NetlinkMessage[] = [];
    for (;;) {
      const length = receiveMessage(this.fd, this.buffer, `${operation}(${target})`);
      for (const answer of decodeMessages(this.buffer, length)) {
        if (answer.seq !== seq) continue;
        if (answer.type === NLMSG_ERROR) {
          const { errno, detail } = decodeError(answer);
          if (errno === 0) return answers;
          throw rtnetlinkError(operation, target, errno, detail);
        }
        if (answer.type === NLMSG_DONE) return answers;
        answers.push(answer);
        if (!isDump && !wantsAck) return answers;
      }
    }
  }
}

function rtnetlinkError(operation: string, target: string, errno: number, detail: string | null): KernelError {
  return errorFor(operation, detail ? `${target} — kernel says: ${detail}` : target, errno);
}

// ── Decoded link and address messages ───────────────────────────────────────────────────────

/** An RTM_NEWLINK message (dump entry or event) in readable form. */
export interface LinkMessage {
  index: number;
  name: string;
  flags: number;
  /** IFLA_INFO_KIND: "veth", "bridge", …; null for devices without a driver kind (lo, NICs). */
  kind: string | null;
  mac: string | null;
  mtu: number;
  /** IFLA_MASTER: ifindex of the bridge this link is a port of. */
  master: number | null;
  /** IFLA_LINK: for a veth, its peer's ifindex (in the peer's namespace). */
  link: number | null;
  /** IFLA_LINK_NETNSID: the peer's namespace, as a number local to this link's namespace. */
  linkNetnsId: number | null;
}

export function formatMac(bytes: Buffer | undefined): string | null {
  if (!bytes || bytes.length === 0) return null;
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/** IPv4 dotted quad or compressed IPv6 text from an address attribute's bytes. */
export function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: number[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) groups.push(bytes.readUInt16BE(i));
  // Compress the longest run (≥ 2) of zero groups into "::".
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function decodeLinkMessage(message: NetlinkMessage): LinkMessage {
  const info = decodeIfInfo(message.payload);
  const attributes = messageAttributes(message, IFINFO_LENGTH);
  const linkInfo = attributes.get(IFLA_LINKINFO);
  const kind = linkInfo ? attrString(decodeAttributes(linkInfo).get(IFLA_INFO_KIND)) : null;
  return {
    index: info.index,
    name: attrString(attributes.get(IFLA_IFNAME)) ?? `if${info.index}`,
    flags: info.flags,
    kind,
    mac: formatMac(attributes.get(IFLA_ADDRESS)),
    mtu: attrU32(attributes.get(IFLA_MTU)) ?? 0,
    master: attrU32(attributes.get(IFLA_MASTER)),
    link: attrU32(attributes.get(IFLA_LINK)),
    linkNetnsId: attrS32(attributes.get(IFLA_LINK_NETNSID)),
  };
}

/** An RTM_NEWADDR message: which link, and the address as "a.b.c.d/len". */
export interface AddressMessage {
  index: number;
  family: number;
  cidr: string;
}

export function decodeAddressMessage(message: NetlinkMessage): AddressMessage | null {
  const info = decodeIfAddr(message.payload);
  const attributes = messageAttributes(message, IFADDR_LENGTH);
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on point-to-point links.
  const bytes = attributes.get(IFA_LOCAL) ?? attributes.get(IFA_ADDRESS);
  if (!bytes) return null;
  return { index: info.index, family: info.family, cidr: `${formatIp(bytes)}/${info.prefixLength}` };
}

/*
 * rtnetlink route messages read back: what `ip route` lists and what `ip route get` answers.
 *
 * A route is `struct rtmsg` (destination prefix length, table, protocol — who made it —, scope,
 * type, flags) then attributes: RTA_DST (the destination network), RTA_GATEWAY (the next hop),
 * RTA_OIF (the outgoing link), RTA_PREFSRC (the source address the host picks for packets on
 * this route), RTA_TABLE (the table, when it does not fit rtm_table's byte).
 *
 * The protocol byte is how a program finds its own routes again: the kernel stores it and never
 * looks at it. `ip route` shows it as "proto 77" (or by a name from /etc/iproute2/rt_protos).
 */
import { RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREFSRC, RTA_TABLE } from './constants';
import { attrU32, formatIp, messageAttributes, type NetlinkMessage } from './rtnetlink';

const RTMSG_LENGTH = 12;

export interface RouteMessage {
  family: number;
  /** "10.1.2.0/24"; "default" for a zero-length destination. */
  dst: string;
  gateway: string | null;
  oif: number | null;
  prefsrc: string | null;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export function decodeRouteMessage(message: NetlinkMessage): RouteMessage {
  const payload = message.payload;
  const attributes = messageAttributes(message, RTMSG_LENGTH);
  const dstLength = payload.readUInt8(1);
  const dst = attributes.get(RTA_DST);
  const gateway = attributes.get(RTA_GATEWAY);
  const prefsrc = attributes.get(RTA_PREFSRC);
  return {
    family: payload.readUInt8(0),
    dst: dst ? `${formatIp(dst)}/${dstLength}` : dstLength === 0 ? 'default' : `?/${dstLength}`,
    gateway: gateway ? formatIp(gateway) : null,
    oif: attrU32(attributes.get(RTA_OIF)),
    prefsrc: prefsrc ? formatIp(prefsrc) : null,
    table: attrU32(attributes.get(RTA_TABLE)) ?? payload.readUInt8(4),
    protocol: payload.readUInt8(5),
    scope: payload.readUInt8(6),
    type: payload.readUInt8(7),
    flags: payload.readUInt32LE(8),
  };
}

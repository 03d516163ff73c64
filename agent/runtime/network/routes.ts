/*
 * Routes: where the host sends a packet for a given destination.
 *
 * The kernel's main routing table holds, per destination network, a next hop (a gateway the
 * packet goes to first) and an outgoing link. `ip route add 10.1.2.0/24 via 192.168.5.2` tells
 * the host: packets for 10.1.2.0/24 go to 192.168.5.2, on whatever link reaches that address.
 * With "onlink" the kernel takes the gateway as being on the named link even though none of the
 * link's own addresses covers it — how a node reaches a peer's gateway across a VXLAN overlay.
 *
 * Every route the agent makes carries protocol 77 (RTPROT_CONTAINERS_LAB): the kernel stores the
 * number without looking at it, and the agent finds exactly its own routes again by it (`ip route
 * show proto 77`). `ip route get ADDRESS` (RTM_GETROUTE) asks the kernel which link and which
 * source address it would use for a destination: how a node learns its own address toward a peer.
 */
import {
  AF_INET,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTNH_F_ONLINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
} from '../../kernel/constants';
import { hasErrno } from '../../kernel/errors';
import { attr, encodeRouteInfo, u32Attr, type RouteSocket } from '../../kernel/rtnetlink';
import { decodeRouteMessage, type RouteMessage } from '../../kernel/rtnetlink-routes';
import { ipv4Bytes } from './addresses';

/** The protocol number on every route the agent makes. */
export const RTPROT_CONTAINERS_LAB = 77;

export interface RouteSpec {
  /** "10.1.2.0/24" */
  dst: string;
  via: string;
  /** The outgoing link; required with onlink. */
  oif?: number;
  onlink?: boolean;
}

function routeHeader(spec: RouteSpec): Buffer {
  return encodeRouteInfo({
    family: AF_INET, dstLength: Number(spec.dst.split('/')[1]), table: RT_TABLE_MAIN, protocol: RTPROT_CONTAINERS_LAB,
    scope: RT_SCOPE_UNIVERSE, type: RTN_UNICAST, flags: spec.onlink ? RTNH_F_ONLINK : 0,
  });
}

function routeAttributes(spec: RouteSpec) {
  return [
    attr(RTA_DST, ipv4Bytes(spec.dst.split('/')[0]!)),
    attr(RTA_GATEWAY, ipv4Bytes(spec.via)),
    ...(spec.oif !== undefined ? [u32Attr(RTA_OIF, spec.oif)] : []),
  ];
}

/** `ip route add DST via VIA [dev DEV onlink] proto 77` */
export function addRoute(socket: RouteSocket, spec: RouteSpec): void {
  socket.request(`RTM_NEWROUTE ${spec.dst} via ${spec.via}`, spec.dst, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, routeHeader(spec), routeAttributes(spec));
}

/** `ip route del DST proto 77`; false when there was none. */
export function deleteRoute(socket: RouteSocket, dst: string): boolean {
  try {
    socket.request(`RTM_DELROUTE ${dst}`, dst, RTM_DELROUTE, 0, encodeRouteInfo({
      family: AF_INET, dstLength: Number(dst.split('/')[1]), table: RT_TABLE_MAIN, protocol: RTPROT_CONTAINERS_LAB, scope: RT_SCOPE_UNIVERSE,
    }), [attr(RTA_DST, ipv4Bytes(dst.split('/')[0]!))]);
    return true;
  } catch (error) {
    if (hasErrno(error, 'ESRCH') || hasErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

/** The main table's IPv4 routes made by the agent (`ip route show proto 77`). */
export function agentRoutes(socket: RouteSocket): RouteMessage[] {
  return socket
    .dump('RTM_GETROUTE', RTM_GETROUTE, encodeRouteInfo({ family: AF_INET }))
    .map((message) => decodeRouteMessage(message))
    .filter((route) => route.protocol === RTPROT_CONTAINERS_LAB && route.table === RT_TABLE_MAIN);
}

/** `ip route get ADDRESS`: the link and source address the host would use for it. */
export function routeTo(socket: RouteSocket, address: string): RouteMessage {
  const answer = socket.query(`RTM_GETROUTE ${address}`, address, RTM_GETROUTE, encodeRouteInfo({ family: AF_INET, dstLength: 32 }), [attr(RTA_DST, ipv4Bytes(address))]);
  return decodeRouteMessage(answer);
}

/*
 * Network interfaces ("links") and their configuration: finding one by name, switching it up,
 * giving it an IPv4 address, pointing a default route through a gateway, and deleting it.
 *
 * These are the rtnetlink messages behind `ip link set X up`, `ip addr add`, `ip route add
 * default via` and `ip link del`. An interface is named by its ifindex, a number unique only
 * within its own network namespace — so every call here acts in the namespace of the socket it
 * is given (see ./netns.ts).
 */
import {
  AF_INET,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_LOCAL,
  IFF_UP,
  IFLA_IFNAME,
  IFLA_MASTER,
  IFLA_MTU,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTA_GATEWAY,
  RTA_OIF,
  RTM_DELLINK,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTPROT_BOOT,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
} from '../../kernel/constants';
import { hasErrno } from '../../kernel/errors';
import {
  RouteSocket,
  attr,
  decodeAddressMessage,
  decodeLinkMessage,
  encodeIfAddr,
  encodeIfInfo,
  encodeRouteInfo,
  stringAttr,
  u32Attr,
  type LinkMessage,
} from '../../kernel/rtnetlink';
import { formatIPv4, ipv4Bytes, parseIPv4 } from './addresses';

/** The link called `name` in the socket's namespace, or null when there is none. */
export function findLink(socket: RouteSocket, name: string): LinkMessage | null {
  try {
    const answer = socket.query('RTM_GETLINK', name, RTM_GETLINK, encodeIfInfo({ family: AF_UNSPEC }), [stringAttr(IFLA_IFNAME, name)]);
    return decodeLinkMessage(answer);
  } catch (error) {
    if (hasErrno(error, 'ENODEV')) return null;
    throw error;
  }
}

/** `ip link set NAME up` */
export function setLinkUp(socket: RouteSocket, index: number, name: string): void {
  socket.request('RTM_NEWLINK set up', name, RTM_NEWLINK, 0, encodeIfInfo({ index, flags: IFF_UP, change: IFF_UP }));
}

/** `ip link set NAME master BRIDGE up`: makes the link a port of the bridge and switches it on. */
export function setMasterAndUp(socket: RouteSocket, index: number, name: string, masterIndex: number, masterName: string): void {
  socket.request(`RTM_NEWLINK set master ${masterName}`, name, RTM_NEWLINK, 0, encodeIfInfo({ index, flags: IFF_UP, change: IFF_UP }), [
    u32Attr(IFLA_MASTER, masterIndex),
  ]);
}

/** `ip link del NAME`; false when it was already gone. Deleting one end of a veth deletes both. */
export function deleteLink(socket: RouteSocket, name: string): boolean {
  try {
    socket.request('RTM_DELLINK', name, RTM_DELLINK, 0, encodeIfInfo({}), [stringAttr(IFLA_IFNAME, name)]);
    return true;
  } catch (error) {
    if (hasErrno(error, 'ENODEV')) return false;
    throw error;
  }
}

/** `ip addr add IP/LEN brd + dev NAME` */
export function addIPv4Address(socket: RouteSocket, index: number, name: string, ip: string, prefixLength: number): void {
  const value = parseIPv4(ip)!;
  const hostBits = prefixLength >= 31 ? 0 : 2 ** (32 - prefixLength) - 1;
  const broadcast = formatIPv4((value | hostBits) >>> 0);
  socket.request(`RTM_NEWADDR ${ip}/${prefixLength}`, name, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
    encodeIfAddr({ family: AF_INET, prefixLength, scope: RT_SCOPE_UNIVERSE, index }), [
      attr(IFA_LOCAL, ipv4Bytes(ip)),
      attr(IFA_ADDRESS, ipv4Bytes(ip)),
      attr(IFA_BROADCAST, ipv4Bytes(broadcast)),
    ]);
}

/** The IPv4 addresses ("a.b.c.d/len") on link `index`. */
export function listIPv4Addresses(socket: RouteSocket, index: number): string[] {
  return socket
    .dump('RTM_GETADDR', RTM_GETADDR, encodeIfAddr({ family: AF_INET }))
    .map((message) => decodeAddressMessage(message))
    .filter((address): address is NonNullable<typeof address> => address !== null && address.index === index)
    .map((address) => address.cidr);
}

/** `ip route add default via GATEWAY dev NAME` */
export function addDefaultRoute(socket: RouteSocket, gateway: string, index: number, name: string): void {
  socket.request(`RTM_NEWROUTE default via ${gateway}`, name, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
    encodeRouteInfo({ family: AF_INET, dstLength: 0, table: RT_TABLE_MAIN, protocol: RTPROT_BOOT, scope: RT_SCOPE_UNIVERSE, type: RTN_UNICAST }), [
      attr(RTA_GATEWAY, ipv4Bytes(gateway)),
      u32Attr(RTA_OIF, index),
    ]);
}

/** `ip link set NAME mtu MTU` */
export function setLinkMtu(socket: RouteSocket, index: number, name: string, mtu: number): void {
  socket.request(`RTM_NEWLINK set mtu ${mtu}`, name, RTM_NEWLINK, 0, encodeIfInfo({ index }), [u32Attr(IFLA_MTU, mtu)]);
}

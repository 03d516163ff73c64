/*
 * Bridge: a software Ethernet switch inside the kernel.
 *
 * A bridge device has ports — here the host ends of containers' veth cables — and forwards each
 * frame to the port where the destination MAC address was last seen, flooding when it does not
 * know yet. Containers plugged into the same bridge are therefore on one Ethernet segment and
 * reach each other directly. The bridge is also an interface of the host itself: given the
 * subnet's first address (10.77.0.1/24) it becomes the containers' gateway to the host.
 * `docker0` is exactly this; Containers Lab's default is `cl0`.
 *
 * One trap: a bridge created without a MAC address borrows the lowest MAC among its ports, so
 * it changes whenever a container leaves. Every other container still has the old gateway MAC
 * in its ARP cache and loses the gateway for seconds. Giving the bridge its own (random, locally
 * administered) MAC at creation pins it, as Docker does.
 */
import { randomBytes } from '../../lazy-builtins';
import {
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELLINK,
  RTM_NEWLINK,
} from '../../kernel/constants';
import { RouteSocket, attr, encodeIfInfo, stringAttr, type LinkMessage } from '../../kernel/rtnetlink';
import { badInput, conflict } from '../../errors';
import { formatIPv4, parseIPv4 } from './addresses';
import { hostRanges, overlaps } from './host-subnets';
import { addIPv4Address, findLink, listIPv4Addresses, setLinkUp } from './interfaces';

const BRIDGE_NAME = /^[a-zA-Z0-9_.-]{1,15}$/;

/** Interface names are at most 15 bytes (IFNAMSIZ - 1) and may not contain '/' or spaces. */
export function validateBridgeName(name: string): void {
  if (typeof name !== 'string' || !BRIDGE_NAME.test(name) || name === '.' || name === '..') {
    throw badInput(`invalid bridge name "${name}": use 1–15 letters, digits, '_', '.' or '-'`);
  }
}

/** A random unicast MAC with the "locally administered" bit set, so it can clash with no vendor's. */
function randomLocalMac(): Buffer {
  const mac = randomBytes(6);
  mac[0] = (mac[0]! & 0xfe) | 0x02;
  return mac;
}

/** `ip link add NAME address <random> type bridge` */
export function createBridge(socket: RouteSocket, name: string): LinkMessage {
  socket.request('RTM_NEWLINK bridge', name, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeIfInfo({}), [
    stringAttr(IFLA_IFNAME, name),
    attr(IFLA_ADDRESS, randomLocalMac()),
    attr(IFLA_LINKINFO, [stringAttr(IFLA_INFO_KIND, 'bridge')]),
  ]);
  const bridge = findLink(socket, name);
  if (!bridge) throw conflict(`bridge ${name} vanished right after it was created`);
  return bridge;
}

/**
 * The bridge `name`, up and carrying `gatewayCidr`; created when missing. An existing bridge is
 * used only if it has no IPv4 address or has exactly this gateway: a bridge serving another
 * subnet, or a device of that name that is no bridge, is a conflict. A subnet that overlaps what
 * the host already has elsewhere (./host-subnets.ts) is refused before anything is made.
 */
export function ensureBridge(socket: RouteSocket, name: string, gatewayCidr: string): { bridge: LinkMessage; created: boolean } {
  const existing = findLink(socket, name);
  if (existing && existing.kind !== 'bridge') {
    throw conflict(`network device ${name} exists but is a ${existing.kind ?? 'plain device'}, not a bridge`);
  }
  if (!existing || listIPv4Addresses(socket, existing.index).length === 0) refuseOverlap(socket, name, gatewayCidr);
  const bridge = existing ?? createBridge(socket, name);
  try {
    const addresses = listIPv4Addresses(socket, bridge.index);
    if (addresses.length > 0 && !addresses.includes(gatewayCidr)) {
      throw conflict(`bridge ${name} already exists with address ${addresses.join(', ')}, not gateway ${gatewayCidr}: choose another bridge name or its subnet`);
    }
    const [ip, length] = gatewayCidr.split('/');
    if (addresses.length === 0) addIPv4Address(socket, bridge.index, name, ip!, Number(length));
    setLinkUp(socket, bridge.index, name);
  } catch (error) {
    if (!existing) deleteBridgeLink(socket, name);
    throw error;
  }
  return { bridge, created: !existing };
}

function refuseOverlap(socket: RouteSocket, name: string, gatewayCidr: string): void {
  const [gateway, length] = gatewayCidr.split('/');
  const prefixLength = Number(length);
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  const subnet = { network: ((parseIPv4(gateway ?? '') ?? 0) & mask) >>> 0, prefixLength };
  const clash = hostRanges(socket).ranges.find((range) => !range.where.endsWith(` on ${name}`) && overlaps(range, subnet));
  if (clash) throw conflict(`subnet ${formatIPv4(subnet.network)}/${prefixLength} for bridge ${name} overlaps the host's ${clash.where}: choose another subnet`);
}

/** `ip link del NAME` for a bridge; its ports are released, not deleted. */
export function deleteBridgeLink(socket: RouteSocket, name: string): boolean {
  const bridge = findLink(socket, name);
  if (!bridge) return false;
  if (bridge.kind !== 'bridge') throw conflict(`network device ${name} is not a bridge; not deleting it`);
  socket.request('RTM_DELLINK bridge', name, RTM_DELLINK, 0, encodeIfInfo({ index: bridge.index }));
  return true;
}

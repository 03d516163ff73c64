/*
 * Static neighbour and forwarding-database entries (see ../../kernel/rtnetlink-neighbours.ts).
 *
 * A VXLAN overlay learns nothing by flooding here: the agent knows every peer, so it writes down
 * what ARP and MAC learning would otherwise find out —
 *   `ip neigh replace PEER-GATEWAY lladdr PEER-VTEP-MAC dev BRIDGE nud permanent`
 *       the peer's gateway address is at the peer's VXLAN device MAC;
 *   `bridge fdb append PEER-VTEP-MAC dev VXLAN dst PEER-ADDRESS self permanent`
 *       frames for that MAC are encapsulated and sent to the peer node;
 *   `bridge fdb replace PEER-VTEP-MAC dev VXLAN master static`
 *       the bridge sends them to its VXLAN port (instead of flooding every container's port).
 */
import { AF_BRIDGE, AF_INET, NDA_DST, NDA_LLADDR, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REPLACE, NTF_MASTER, NTF_SELF, NUD_NOARP, NUD_PERMANENT, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH } from '../../kernel/constants';
import { hasErrno } from '../../kernel/errors';
import { attr, type RouteSocket } from '../../kernel/rtnetlink';
import { decodeNeighbourMessage, encodeNdInfo, macBytes, type NeighbourMessage } from '../../kernel/rtnetlink-neighbours';
import { ipv4Bytes } from './addresses';

const gone = (error: unknown): boolean => hasErrno(error, 'ENOENT') || hasErrno(error, 'ESRCH') || hasErrno(error, 'ENODEV');

/** `ip neigh replace IP lladdr MAC dev DEV nud permanent` */
export function setNeighbour(socket: RouteSocket, index: number, ip: string, mac: string): void {
  socket.request(`RTM_NEWNEIGH ${ip} lladdr ${mac}`, `link ${index}`, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE,
    encodeNdInfo({ family: AF_INET, index, state: NUD_PERMANENT }), [attr(NDA_DST, ipv4Bytes(ip)), attr(NDA_LLADDR, macBytes(mac))]);
}

/** `ip neigh del IP dev DEV`; false when there was none. */
export function deleteNeighbour(socket: RouteSocket, index: number, ip: string): boolean {
  try {
    socket.request(`RTM_DELNEIGH ${ip}`, `link ${index}`, RTM_DELNEIGH, 0, encodeNdInfo({ family: AF_INET, index }), [attr(NDA_DST, ipv4Bytes(ip))]);
    return true;
  } catch (error) {
    if (gone(error)) return false;
    throw error;
  }
}

/**
 * A forwarding entry for `mac` on link `index`: with `remote`, the VXLAN device's own (self)
 * entry sending it to that node; without, the bridge master's entry pointing at that port.
 */
export function addFdbEntry(socket: RouteSocket, index: number, mac: string, remote: string | null): void {
  const flags = remote ? NTF_SELF : NTF_MASTER;
  const state = remote ? NUD_PERMANENT | NUD_NOARP : NUD_NOARP; // "static" for a bridge entry
  socket.request(`RTM_NEWNEIGH fdb ${mac}${remote ? ` dst ${remote}` : ' master'}`, `link ${index}`, RTM_NEWNEIGH,
    NLM_F_CREATE | (remote ? NLM_F_APPEND : NLM_F_REPLACE), encodeNdInfo({ family: AF_BRIDGE, index, state, flags }),
    [attr(NDA_LLADDR, macBytes(mac)), ...(remote ? [attr(NDA_DST, ipv4Bytes(remote))] : [])]);
}

/** Deletes the entry addFdbEntry made; false when there was none. */
export function deleteFdbEntry(socket: RouteSocket, index: number, mac: string, remote: string | null): boolean {
  try {
    socket.request(`RTM_DELNEIGH fdb ${mac}`, `link ${index}`, RTM_DELNEIGH, 0,
      encodeNdInfo({ family: AF_BRIDGE, index, flags: remote ? NTF_SELF : NTF_MASTER }),
      [attr(NDA_LLADDR, macBytes(mac)), ...(remote ? [attr(NDA_DST, ipv4Bytes(remote))] : [])]);
    return true;
  } catch (error) {
    if (gone(error)) return false;
    throw error;
  }
}

/** Every entry of one family (`ip neigh` for AF_INET, `bridge fdb` for AF_BRIDGE) on link `index`. */
export function listNeighbours(socket: RouteSocket, family: typeof AF_INET | typeof AF_BRIDGE, index: number): NeighbourMessage[] {
  return socket
    .dump('RTM_GETNEIGH', RTM_GETNEIGH, encodeNdInfo({ family }))
    .map((message) => decodeNeighbourMessage(message))
    .filter((entry) => entry.index === index);
}

/*
 * Overlay mode (Flannel's and Weave's data plane): the nodes' bridges joined by a VXLAN tunnel.
 *
 *   node A: cl0 10.1.1.1/24 ─ ports: containers' veths, clvx42 (VXLAN 42, local 192.168.5.1, 0a:58:0a:01:01:00)
 *   node B: cl0 10.1.2.1/24 ─ ports: containers' veths, clvx42 (VXLAN 42, local 192.168.5.2, 0a:58:0a:01:02:00)
 *
 * Per peer, node A writes (B's values):
 *   ip route add 10.1.2.0/24 via 10.1.2.1 dev cl0 onlink proto 77   B's gateway is "on" A's bridge
 *   ip neigh replace 10.1.2.1 lladdr 0a:58:0a:01:02:00 dev cl0 nud permanent   …at B's VXLAN MAC
 *   bridge fdb append 0a:58:0a:01:02:00 dev clvx42 dst 192.168.5.2 self permanent   …which is behind B
 *   bridge fdb replace 0a:58:0a:01:02:00 dev clvx42 master static   the bridge sends it to the tunnel
 *
 * A container on A sends to 10.1.2.5 through its gateway; A routes it onto its own bridge toward
 * 10.1.2.1, i.e. to MAC 0a:58:0a:01:02:00; the bridge hands the frame to clvx42, which wraps it in
 * UDP to 192.168.5.2:4789. B's clvx42 unwraps it onto B's bridge; the destination MAC is a port's
 * own (B's VXLAN device), so the bridge passes it up to B, which routes it to the container.
 *
 * Every node's VXLAN MAC is made from its subnet (0a:58 + the network address, a locally
 * administered unicast address), so a peer needs to be told only its name, address and subnet.
 * The device's MTU is the underlay's minus 50 (./vxlan.ts), and so is every container's on the
 * bridge — those already there are changed in place, later ones are made so — until the device goes.
 */
import { conflict } from '../../../errors';
import { decodeLinkMessage, encodeIfInfo, type LinkMessage, type RouteSocket } from '../../../kernel/rtnetlink';
import { RTM_GETLINK } from '../../../kernel/constants';
import type { PeerNode } from '../../../protocol';
import { gatewayOf, parseSubnet } from '../addresses';
import { deleteBridgeLink, ensureBridge } from '../bridge';
import { deleteLink, findLink, setLinkMtu, setMasterAndUp } from '../interfaces';
import { addFdbEntry, deleteFdbEntry, deleteNeighbour, setNeighbour } from '../neighbours';
import { withNetnsOf } from '../netns';
import { addRoute, deleteRoute, routeTo } from '../routes';
import { createVxlan, listVxlans, VXLAN_OVERHEAD } from '../vxlan';
import type { NodesState } from './state';

/** A veth's MTU when nobody changed it, and what the overlay gives back. */
export const ETHERNET_MTU = 1500;
const CONTAINER_IFNAME = 'eth0';

export interface BridgeContainer {
  pid: number;
  vethHost: string;
}

/** 0a:58 and the subnet's network address: "10.1.2.0/24" → 0a:58:0a:01:02:00. */
export function vtepMac(subnet: string): string {
  const network = parseSubnet(subnet).network;
  return ['0a', '58', ...[24, 16, 8, 0].map((shift) => ((network >>> shift) & 0xff).toString(16).padStart(2, '0'))].join(':');
}

export const vxlanName = (vni: number): string => `clvx${vni}`;

export function overlayPath(peer: PeerNode, bridge: string): { route: string; vtepMac: string } {
  return { route: `${peer.subnet} via ${gatewayOf(parseSubnet(peer.subnet))} dev ${bridge} onlink`, vtepMac: vtepMac(peer.subnet) };
}

function linkByIndex(host: RouteSocket, index: number): LinkMessage {
  return decodeLinkMessage(host.query('RTM_GETLINK', `link ${index}`, RTM_GETLINK, encodeIfInfo({ index })));
}

/** This node's address toward `peer` and the link it leaves by: `ip route get PEER`. */
export function localToward(host: RouteSocket, peer: PeerNode): { address: string; underlay: LinkMessage } {
  const route = routeTo(host, peer.address);
  if (!route.prefsrc || route.oif === null) throw conflict(`no route to node ${peer.name}'s address ${peer.address}`);
  return { address: route.prefsrc, underlay: linkByIndex(host, route.oif) };
}

/** Sets the MTU of every container on the bridge, both ends of its veth. */
export function setContainerMtus(host: RouteSocket, containers: BridgeContainer[], mtu: number): void {
  for (const container of containers) {
    const hostEnd = findLink(host, container.vethHost);
    if (!hostEnd) continue; // its namespace is gone (it exited): nothing carries packets there
    setLinkMtu(host, hostEnd.index, container.vethHost, mtu);
    try {
      withNetnsOf(container.pid, (inside) => {
        const eth0 = findLink(inside, CONTAINER_IFNAME);
        if (eth0) setLinkMtu(inside, eth0.index, CONTAINER_IFNAME, mtu);
      });
    } catch {
      // It exited meanwhile.
    }
  }
}

/**
 * Makes the VXLAN device (toward `first`, whose route tells this node's address and underlay),
 * attaches it to the bridge (made if missing) and lowers every container's MTU.
 */
export function makeOverlayDevice(host: RouteSocket, state: NodesState, bridge: { name: string; subnet: string }, first: PeerNode, containers: BridgeContainer[]): NonNullable<NodesState['overlay']> {
  const name = vxlanName(state.vni);
  const { address, underlay } = localToward(host, first);
  const other = listVxlans(host).find((device) => device.vni === state.vni);
  if (other) throw conflict(`VNI ${state.vni} is in use by VXLAN device ${other.name}: choose another (node mode overlay --vni N)`);
  const subnet = parseSubnet(bridge.subnet);
  const { bridge: bridgeLink, created } = ensureBridge(host, bridge.name, `${gatewayOf(subnet)}/${subnet.prefixLength}`);
  const mtu = underlay.mtu - VXLAN_OVERHEAD;
  try {
    createVxlan(host, { name, vni: state.vni, local: address, underlay: underlay.index, mac: vtepMac(bridge.subnet), mtu });
    const device = findLink(host, name);
    if (!device) throw conflict(`VXLAN device ${name} vanished right after it was created`);
    setContainerMtus(host, containers, mtu);
    setMasterAndUp(host, device.index, name, bridgeLink.index, bridge.name);
  } catch (error) {
    deleteLink(host, name);
    setContainerMtus(host, containers, ETHERNET_MTU);
    if (created) deleteBridgeLink(host, bridge.name);
    throw error;
  }
  return { bridge: bridge.name, device: name, mtu, madeBridge: created };
}

/** Deletes the device (its FDB goes with it), gives the containers their MTU back, and the bridge if it was made for it and is empty. */
export function removeOverlayDevice(host: RouteSocket, overlay: NonNullable<NodesState['overlay']>, containers: BridgeContainer[]): void {
  deleteLink(host, overlay.device);
  setContainerMtus(host, containers, ETHERNET_MTU);
  if (overlay.madeBridge && containers.length === 0) deleteBridgeLink(host, overlay.bridge);
}

export function addOverlayPeer(host: RouteSocket, overlay: NonNullable<NodesState['overlay']>, peer: PeerNode): void {
  const bridge = findLink(host, overlay.bridge);
  const device = findLink(host, overlay.device);
  if (!bridge || !device) throw conflict(`overlay device ${overlay.device} or bridge ${overlay.bridge} is missing: node mode overlay again to remake it`);
  const gateway = gatewayOf(parseSubnet(peer.subnet));
  const mac = vtepMac(peer.subnet);
  addFdbEntry(host, device.index, mac, peer.address);
  addFdbEntry(host, device.index, mac, null);
  setNeighbour(host, bridge.index, gateway, mac);
  addRoute(host, { dst: peer.subnet, via: gateway, oif: bridge.index, onlink: true });
}

export function removeOverlayPeer(host: RouteSocket, overlay: NonNullable<NodesState['overlay']>, peer: PeerNode): void {
  deleteRoute(host, peer.subnet);
  const bridge = findLink(host, overlay.bridge);
  if (bridge) deleteNeighbour(host, bridge.index, gatewayOf(parseSubnet(peer.subnet)));
  const device = findLink(host, overlay.device);
  if (!device) return;
  const mac = vtepMac(peer.subnet);
  deleteFdbEntry(host, device.index, mac, null);
  deleteFdbEntry(host, device.index, mac, peer.address);
}


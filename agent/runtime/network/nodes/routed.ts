/*
 * Routed mode (Calico's data plane, without BGP): no encapsulation at all.
 *
 *   node A 192.168.5.1, containers 10.1.1.0/24          node B 192.168.5.2, containers 10.1.2.0/24
 *   ip route add 10.1.2.0/24 via 192.168.5.2            ip route add 10.1.1.0/24 via 192.168.5.1
 *
 * A container on A sends to 10.1.2.5 through its gateway (A's bridge); A forwards it (ip_forward)
 * to B's address, as the route says; B forwards it to its bridge and the container. The answer
 * takes B's route back. The packet is never rewritten — B's container sees A's container's own
 * address (the nat table lets peer subnets pass unmasqueraded) — and keeps its full size: the
 * network between the nodes must carry the containers' addresses, which a cloud VPC often will
 * not (there Calico falls back to IP-in-IP or VXLAN; here, overlay mode).
 */
import type { PeerNode } from '../../../protocol';
import type { RouteSocket } from '../../../kernel/rtnetlink';
import { addRoute, deleteRoute } from '../routes';

export const routedPath = (peer: PeerNode): string => `${peer.subnet} via ${peer.address}`;

export function addRoutedPeer(host: RouteSocket, peer: PeerNode): void {
  addRoute(host, { dst: peer.subnet, via: peer.address });
}

export function removeRoutedPeer(host: RouteSocket, peer: PeerNode): void {
  deleteRoute(host, peer.subnet);
}

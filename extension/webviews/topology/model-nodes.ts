/*
 * What the topology draws beyond this host's namespaces: published ports, and the other nodes.
 *
 *   port "0.0.0.0:8080->80/tcp"  (host side)  ──dnat──▶  the container it leads to
 *   this node's bridge (cl0)  ──route──▶   node lab2 · 10.244.2.0/24 via 192.168.56.12     routed mode
 *   this node's VXLAN (clvx42) ──tunnel──▶ node lab2 · VXLAN 42 to 192.168.56.12          overlay mode
 *
 * A port is a chip among the host's own things; a peer node stands outside the host's box, with
 * its container subnet: every container drawn inside the host is on THIS node (the host's title
 * says which subnet that is), every address in a peer's subnet is on that peer.
 */
import type { NodesView, PublishedPort } from '../../../agent/protocol';
import { formatPublishedPort } from '../../../agent/protocol';
import type { ContainerView, TopologyGraph, TopologyInputs } from './model';

export const portNodeId = (containerId: string, port: PublishedPort): string => `port:${containerId}/${port.hostIp ?? '*'}:${port.hostPort}/${port.protocol}`;
export const peerNodeId = (name: string): string => `peer:${name}`;

const netnsId = (inode: number): string => `netns:${inode}`;
const linkId = (netns: number, name: string): string => `link:${netns}/${name}`;

/** "node lab1 · 10.244.1.0/24 · routed": the host's title on a node that has peers. */
export function thisNodeText(nodes: NodesView): string {
  return `this node ${nodes.self.subnet}${nodes.self.address ? ` at ${nodes.self.address}` : ''} · ${nodes.mode}`;
}

/** How this node reaches a peer, in words. */
export function peerPathText(nodes: NodesView, peer: NodesView['nodes'][number]): string {
  if (!peer.path) return `not joined (mode ${nodes.mode})`;
  return nodes.mode === 'overlay' ? `VXLAN ${nodes.vni} to ${peer.address}` : `route via ${peer.address}`;
}

export function addPortsAndPeers(graph: TopologyGraph, inputs: TopologyInputs, live: ContainerView[]): void {
  const host = netnsId(inputs.hostNetns);
  for (const container of live) {
    const target = `container:${container.id}`;
    for (const port of container.ports ?? []) {
      const id = portNodeId(container.id, port);
      graph.nodes.set(id, {
        id,
        kind: 'port',
        parent: host,
        label: formatPublishedPort(port),
        detail: `published port of ${container.name}: DNAT to ${container.network.ip ?? '?'}:${port.containerPort}`,
        reveal: { view: 'containers', containerId: container.id },
        state: 'up',
        netns: inputs.hostNetns,
        addresses: [],
      });
      graph.edges.set(`dnat:${id}`, { id: `dnat:${id}`, kind: 'dnat', source: id, target, label: 'DNAT' });
    }
  }

  const nodes = inputs.nodes;
  if (!nodes || nodes.nodes.length === 0) return;
  const hostNode = graph.nodes.get(host);
  if (hostNode) graph.nodes.set(host, { ...hostNode, detail: `${hostNode.detail} · ${thisNodeText(nodes)}` });
  const bridge = linkId(inputs.hostNetns, nodes.self.bridge);
  const vxlan = nodes.self.vxlan ? linkId(inputs.hostNetns, nodes.self.vxlan.name) : null;
  const from = vxlan && graph.nodes.has(vxlan) ? vxlan : bridge;
  for (const peer of nodes.nodes) {
    const id = peerNodeId(peer.name);
    const path = peerPathText(nodes, peer);
    graph.nodes.set(id, {
      id,
      kind: 'peer',
      label: `node ${peer.name}`,
      detail: `${peer.subnet} · ${path}`,
      reveal: { view: 'none' },
      state: peer.path ? 'up' : 'down',
      netns: null,
      addresses: [peer.subnet],
    });
    if (peer.path && graph.nodes.has(from)) {
      const kind = nodes.mode === 'overlay' ? 'tunnel' : 'route';
      graph.edges.set(`${kind}:${id}`, { id: `${kind}:${id}`, kind, source: from, target: id, label: path });
    }
  }
}

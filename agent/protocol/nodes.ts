/*
 * Several nodes: the agent of each node knows its peers (name, address, container subnet) and
 * joins its containers' subnet to theirs — by routes (routed mode) or a VXLAN overlay (overlay
 * mode). agent/runtime/network/nodes/ does the kernel work.
 */

export const NODE_MODES = ['none', 'routed', 'overlay'] as const;
export type NodeMode = (typeof NODE_MODES)[number];

/** A peer node: its name, its address on the network between nodes, and its containers' subnet. */
export interface PeerNode {
  name: string;
  address: string;
  subnet: string;
}

/** How this node reaches one peer, as made in the kernel (null while the mode is none). */
export interface PeerPath {
  /** "10.1.2.0/24 via 192.168.5.2" (routed) or "10.1.2.0/24 via 10.1.2.1 dev cl0 onlink" (overlay). */
  route: string;
  /** Overlay: the peer's VXLAN MAC, which the FDB sends to the peer's address. */
  vtepMac: string | null;
}

export interface NodesView {
  mode: NodeMode;
  /** The VXLAN network identifier of overlay mode (kept while another mode is on). */
  vni: number;
  /** This node: its bridge and subnet (the agent's default bridge), and what overlay mode made. */
  self: {
    bridge: string;
    subnet: string;
    /** Its address toward its peers (the source the kernel picks), once a peer is known. */
    address: string | null;
    /** Overlay: the VXLAN device, its MAC and the MTU every container on the bridge now has. */
    vxlan: { name: string; mac: string; mtu: number; underlay: string } | null;
  };
  nodes: (PeerNode & { path: PeerPath | null })[];
}

export interface NodeMethods {
  'node.list': [Record<string, never>, NodesView];
  'node.add': [PeerNode, NodesView];
  'node.remove': [{ name: string }, NodesView];
  'node.mode': [{ mode: NodeMode; vni?: number }, NodesView];
}

export interface NodeNotifications {
  'node.changed': NodesView;
}

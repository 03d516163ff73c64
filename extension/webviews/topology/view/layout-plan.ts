/*
 * The first half of the topology's layout (./layout.ts): what goes where, whatever the page's size.
 *
 * - A veth cable from a host link to a link inside a container namespace makes the host link that
 *   namespace's port; a port on a bridge (its master edge) puts the namespace's card in that
 *   bridge's group, drawn under the bridge's bar.
 * - Cards with no cable, or whose port is on no bridge, are "fillers": they need no bar above
 *   them, so they fill whatever room the columns leave.
 * - A bridge's port whose other end is not drawn (another lab's container) is a "spare": it still
 *   stands under its bridge, with no card. A bridge with only spares (docker0) is drawn with them
 *   as one piece among the host's own things.
 * - Everything else of the host's (lo, eth0, bridges without ports, host-network containers) goes
 *   in rows under the host's header.
 * Each card is sized here (./layout-parts.ts); packing them into columns is ./layout.ts's part.
 */
import type { TopologyEdgeData, TopologyNodeData } from '../model';
import type { PlacedText } from './layout-parts';
import { Sizer, type Card, type Piece } from './layout-parts';

export const LINK_KINDS = new Set<TopologyNodeData['kind']>(['bridge', 'veth', 'loopback', 'device']);

/** A card, with the cables that come to it (port → the link in the card), top to bottom. */
export interface Slot {
  card: Card;
  lanes: { port: string; link: string }[];
}

export interface Plan {
  host: TopologyNodeData | null;
  hostText: PlacedText | null;
  /** The host's links and containers that are neither bridges with ports nor ports. */
  flow: Piece[];
  /** By bridge, in name order: its cards and its spare ports. */
  groups: { bridge: TopologyNodeData; slots: Slot[]; spares: string[] }[];
  fillers: Slot[];
  ports: Map<string, TopologyNodeData>;
  /** Every port's size (the largest one's): the stairs step evenly. */
  port: { width: number; height: number };
  /** port id → its bridge's id */
  masterOf: Map<string, string>;
}

// (plain code-unit order: localeCompare would cost more than the rest of the layout together)
const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byLabel = (a: TopologyNodeData, b: TopologyNodeData): number => order(a.label, b.label) || order(a.id, b.id);
const bySlot = (a: Slot, b: Slot): number => byLabel(a.card.node, b.card.node);
/** A process node's host PID (its id is "process:<pid>"), for the order PIDs were handed out. */
const pidOf = (node: TopologyNodeData): number => Number(node.id.slice(node.id.indexOf(':') + 1)) || 0;

export function plan(nodes: Map<string, TopologyNodeData>, edges: TopologyEdgeData[], sizer: Sizer): Plan {
  const children = new Map<string, TopologyNodeData[]>();
  for (const node of nodes.values()) {
    if (!node.parent || !nodes.has(node.parent)) continue;
    const siblings = children.get(node.parent);
    if (siblings) siblings.push(node);
    else children.set(node.parent, [node]);
  }
  for (const siblings of children.values()) siblings.sort(byLabel);
  const childrenOf = (id: string): TopologyNodeData[] => children.get(id) ?? [];
  const host = [...nodes.values()].find((node) => node.kind === 'host') ?? null;
  const empty: Plan = { host, hostText: host ? sizer.text(host) : null, flow: [], groups: [], fillers: [], ports: new Map(), port: { width: 0, height: 0 }, masterOf: new Map() };
  if (!host) return empty;

  const inHost = (id: string): boolean => nodes.get(id)?.parent === host.id && LINK_KINDS.has(nodes.get(id)!.kind);
  const masterOf = new Map<string, string>();
  for (const edge of edges) if (edge.kind === 'master' && inHost(edge.source) && nodes.get(edge.target)?.kind === 'bridge' && inHost(edge.target)) masterOf.set(edge.source, edge.target);
  // link in a container namespace → the host link at the other end of its cable
  const portOf = new Map<string, string>();
  for (const edge of edges) {
    if (edge.kind !== 'veth') continue;
    for (const [port, link] of [[edge.source, edge.target], [edge.target, edge.source]] as const) {
      const home = nodes.get(nodes.get(link)?.parent ?? '');
      if (inHost(port) && home?.kind === 'netns' && LINK_KINDS.has(nodes.get(link)!.kind) && !portOf.has(link)) portOf.set(link, port);
    }
  }

  const processesOf = (node: TopologyNodeData): TopologyNodeData[] => childrenOf(node.id).filter((child) => child.kind === 'process').sort((a, b) => pidOf(a) - pidOf(b));
  const container = (node: TopologyNodeData): Piece => sizer.container(node, processesOf(node));
  const grouped = new Map<string, Slot[]>();
  const fillers: Slot[] = [];
  const placedPorts = new Set<string>();
  for (const netns of [...nodes.values()].filter((node) => node.kind === 'netns')) {
    const inside = childrenOf(netns.id);
    // cabled links first (the cable enters at the card's left edge), then lo, then the rest
    const links = inside.filter((node) => LINK_KINDS.has(node.kind)).sort((a, b) => Number(portOf.has(b.id)) - Number(portOf.has(a.id)) || Number(b.kind === 'loopback') - Number(a.kind === 'loopback') || byLabel(a, b));
    const attached = new Set(links.filter((link) => portOf.has(link.id)).map((link) => link.id));
    const members = inside.filter((node) => node.kind === 'container').map((member) => ({ node: member, processes: processesOf(member) }));
    const card = sizer.card(netns, links, attached, members);
    const lanes = card.entries.map((entry) => ({ port: portOf.get(entry.link)!, link: entry.link }));
    for (const lane of lanes) placedPorts.add(lane.port);
    const bridge = lanes.length > 0 ? masterOf.get(lanes[0]!.port) : undefined;
    if (bridge) grouped.set(bridge, [...(grouped.get(bridge) ?? []), { card, lanes }]);
    else fillers.push({ card, lanes });
  }
  const hostLinks = childrenOf(host.id).filter((node) => LINK_KINDS.has(node.kind));
  const spares = new Map<string, string[]>();
  for (const link of hostLinks) {
    const bridge = masterOf.get(link.id);
    if (bridge && !placedPorts.has(link.id) && link.kind !== 'bridge') {
      placedPorts.add(link.id);
      spares.set(bridge, [...(spares.get(bridge) ?? []), link.id]);
    }
  }
  const bridges = hostLinks.filter((link) => link.kind === 'bridge' && grouped.has(link.id));
  const apart = hostLinks.filter((link) => link.kind === 'bridge' && !grouped.has(link.id) && spares.has(link.id));
  const apartPorts = new Set(apart.flatMap((bridge) => spares.get(bridge.id)!));
  const ports = new Map([...placedPorts].filter((id) => !apartPorts.has(id)).map((id) => [id, nodes.get(id)!]));
  const portChips = [...ports.values()].map((port) => sizer.chip(port));
  // Published ports (run -p) are the host's too: chips in its rows, beside its own links.
  const flowNodes = [
    ...hostLinks.filter((link) => !placedPorts.has(link.id) && !bridges.includes(link)),
    ...childrenOf(host.id).filter((node) => node.kind === 'port'),
    ...childrenOf(host.id).filter((node) => node.kind === 'container'),
  ];
  const flowPiece = (node: TopologyNodeData): Piece => {
    if (node.kind === 'container') return container(node);
    if (apart.includes(node)) return sizer.bridgeWithPorts(node, spares.get(node.id)!.map((id) => nodes.get(id)!));
    return sizer.chip(node);
  };
  return {
    ...empty,
    flow: flowNodes.map(flowPiece),
    groups: bridges.map((bridge) => ({ bridge, slots: (grouped.get(bridge.id) ?? []).sort(bySlot), spares: spares.get(bridge.id) ?? [] })),
    fillers: fillers.sort(bySlot),
    ports,
    port: { width: Math.max(0, ...portChips.map((chip) => chip.width)), height: Math.max(0, ...portChips.map((chip) => chip.height)) },
    masterOf,
  };
}

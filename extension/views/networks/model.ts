/*
 * The Networks view's model: bridges → veth pairs → containers, computed from the links of a host
 * snapshot (and kept current with link.changed events), without 'vscode'.
 *
 * How a container reaches the network: the agent creates a veth pair — two virtual Ethernet
 * devices joined like the ends of a cable — with one end inside the container's network
 * namespace (renamed eth0, given the container's address) and the other end on the host, where it
 * is enslaved to a bridge (a software switch; the bridge's own address is the containers'
 * gateway). The kernel reports each end as a link in its namespace; a veth names its peer by
 * ifindex plus the namespace that peer lives in, and that is how the two ends are joined here.
 * Between snapshots a new container's end is drawn from its record (containerEndOf, KnownEnds).
 */
import type { ContainerRecord, LinkRecord } from '../../../agent/protocol';

export interface ContainerEnd {
  /** The container's end of the pair, as the container sees it (usually eth0). */
  name: string;
  ifindex: number;
  netns: number | null;
  addresses: string[];
  mac: string | null;
  up: boolean;
  /** Container name or id, when the agent knows who owns that namespace. */
  container: string | null;
}

export interface VethPort {
  /** The host end, enslaved to the bridge. */
  name: string;
  ifindex: number;
  mac: string | null;
  up: boolean;
  peer: ContainerEnd | null;
}

export interface BridgeModel {
  name: string;
  ifindex: number;
  netns: number;
  addresses: string[];
  mac: string | null;
  up: boolean;
  ports: VethPort[];
}

/** Identity of a link: ifindexes are only unique within one network namespace. */
export function linkKey(link: Pick<LinkRecord, 'netns' | 'ifindex'>): string {
  return `${link.netns}/${link.ifindex}`;
}

/**
 * What the view knows about container ends beyond the links themselves. A new container's end
 * lives in a namespace the agent's link events do not watch (they cover the host's), so it is
 * drawn from the container's record (`ends`, by the host end's name) until a snapshot lists the
 * real link; and a port whose record has not come yet (`awaiting`) shows no far end rather than
 * a guess.
 */
export interface KnownEnds {
  ends?: ReadonlyMap<string, ContainerEnd>;
  awaiting?: ReadonlySet<string>;
}

/** Bridges sorted by name, each with its veth ports (by name) and what is at their other end. */
export function buildNetworkModel(links: LinkRecord[], known: KnownEnds = {}): BridgeModel[] {
  const byKey = new Map(links.map((link) => [linkKey(link), link]));
  return links
    .filter((link) => link.kind === 'bridge')
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((bridge) => ({
      name: bridge.name,
      ifindex: bridge.ifindex,
      netns: bridge.netns,
      addresses: bridge.addresses,
      mac: bridge.mac,
      up: bridge.up,
      ports: links
        .filter((link) => link.master === bridge.name && link.netns === bridge.netns && link !== bridge)
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((port) => ({ name: port.name, ifindex: port.ifindex, mac: port.mac, up: port.up, peer: peerOf(port, byKey, links, known) })),
    }));
}

/** The listed link at a veth's other end, if the list has it. */
function listedPeer(port: LinkRecord, byKey: Map<string, LinkRecord>, links: LinkRecord[]): LinkRecord | undefined {
  const { ifindex, netns } = port.peer!;
  // The peer's namespace may be unknown (the kernel gave an nsid the agent could not resolve):
  // then the only safe match is a link elsewhere that names this port as its own peer.
  return netns !== null
    ? byKey.get(`${netns}/${ifindex}`)
    : links.find((link) => link.ifindex === ifindex && link.peer?.ifindex === port.ifindex && link.netns !== port.netns);
}

/** Whether the list holds the link at the other end of a veth `port`. */
export function farEndListed(links: LinkRecord[], port: LinkRecord): boolean {
  return port.peer !== null && listedPeer(port, new Map(links.map((link) => [linkKey(link), link])), links) !== undefined;
}

function peerOf(port: LinkRecord, byKey: Map<string, LinkRecord>, links: LinkRecord[], known: KnownEnds): ContainerEnd | null {
  if (!port.peer) return null;
  const { ifindex, netns, name } = port.peer;
  const peer = listedPeer(port, byKey, links);
  if (!peer) {
    // the kernel names the far end's ifindex; the record knows the rest
    const fromRecord = known.ends?.get(port.name);
    if (fromRecord) return { ...fromRecord, ifindex };
    if (known.awaiting?.has(port.name)) return null;
    return { name: name ?? `ifindex ${ifindex}`, ifindex, netns, addresses: [], mac: null, up: false, container: port.container ?? null };
  }
  return {
    name: peer.name,
    ifindex: peer.ifindex,
    netns: peer.netns,
    addresses: peer.addresses,
    mac: peer.mac,
    up: peer.up,
    container: peer.container ?? port.container ?? null,
  };
}

/**
 * A container's end of its veth pair as its record describes it (the runtime named it, addressed
 * it and brought it up), keyed by the host end's name; null when the container has no veth.
 * The ifindex is the kernel's to say: the host end's peer attribute carries it.
 */
export function containerEndOf(record: Pick<ContainerRecord, 'name' | 'network' | 'namespaces'>): { hostEnd: string; end: ContainerEnd } | null {
  const network = record.network;
  if (network.mode !== 'bridge' || !network.vethHost || !network.ifname) return null;
  return {
    hostEnd: network.vethHost,
    end: {
      name: network.ifname,
      ifindex: -1,
      netns: record.namespaces.net ?? null,
      addresses: network.ip ? [`${network.ip}/${network.prefixLength ?? 32}`] : [],
      mac: network.mac,
      up: true,
      container: record.name,
    },
  };
}

/**
 * Applies one link.changed event to a list of links: added/changed replace the link with the
 * same namespace and ifindex (or append it), removed drops it. Returns a new list.
 */
export function applyLinkEvent(links: LinkRecord[], event: 'added' | 'removed' | 'changed', link: LinkRecord): LinkRecord[] {
  const key = linkKey(link);
  const rest = links.filter((existing) => linkKey(existing) !== key);
  return event === 'removed' ? rest : [...rest, link];
}

/**
 * Whether an event brings a veth whose other end the list cannot show — a new container's pair,
 * seen from the host (link events cover only the agent's own namespace). The view then draws
 * that end from the container's record (containerEndOf), and re-reads the host only if no record
 * claims it.
 */
export function needsSnapshot(links: LinkRecord[], event: 'added' | 'removed' | 'changed', link: LinkRecord): boolean {
  if (event === 'removed' || link.kind !== 'veth' || !link.peer || link.peer.netns === null) return false;
  if (link.peer.netns === link.netns) return false;
  return !links.some((other) => other.netns === link.peer?.netns && other.ifindex === link.peer.ifindex);
}

/** "10.77.0.1/24" or "no address". */
export function addressText(addresses: string[]): string {
  return addresses.length > 0 ? addresses.join(', ') : 'no address';
}

export function bridgeDescription(bridge: BridgeModel): string {
  return `${addressText(bridge.addresses)} · ${bridge.ports.length} port${bridge.ports.length === 1 ? '' : 's'}${bridge.up ? '' : ' · down'}`;
}

export function portDescription(port: VethPort): string {
  return `veth${port.up ? '' : ' · down'}${port.peer ? ` ↔ ${port.peer.name}` : ''}`;
}

/** The container end: "eth0" with "10.77.0.2/24 · container web". */
export function peerDescription(peer: ContainerEnd): string {
  const parts = [addressText(peer.addresses)];
  if (peer.container) parts.push(`container ${peer.container}`);
  else if (peer.netns !== null) parts.push(`netns ${peer.netns}`);
  return parts.join(' · ');
}

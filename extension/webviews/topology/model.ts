/*
 * The live topology as a graph: what a container's network really is, from the kernel's own view.
 *
 * A network namespace is a private copy of the network stack: its own devices, addresses, routes.
 * Every container with `--net bridge` or `--net none` gets a new one; `--net host` containers stay
 * in the host's. Containers that share one namespace (a pod, `--net container:X`) share one box,
 * because the kernel holds one object for them: they are grouped by the namespace's inode. A pod's
 * box is named after the pod ("pod web"): its sandbox (`web-pause`) holds the namespace, and every
 * member sits beside it with its own processes, behind the one eth0 and the one veth pair.
 *
 *   ┌ host network namespace ─────────────────────────┐
 *   │ lo   eth0   cl0 (bridge) ◄── veth1a2b (port)    │
 *   └─────────────────────────────────────│───────────┘
 *                                 veth pair (one cable)
 *   ┌ netns 4026532890 ────────────────────│───┐
 *   │ lo   eth0 10.77.0.2/24 ◄─────────────┘   │
 *   │ ┌ container web ─┐                       │
 *   │ │ sh (pid 1)     │                       │
 *   └─┴────────────────┴───────────────────────┘
 *
 * Inputs are a host.snapshot (every link in every namespace, with its veth peer and bridge) and
 * the container records; then the agent's notifications update those inputs (applyLinkChange,
 * applyContainerRecord, applyContainerRemoved), the graph is rebuilt (a pure, linear pass) and diffGraphs() says which elements to add, update or remove — so the page never
 * redraws from scratch. Ids are stable: a namespace by inode, a link by namespace + name, a
 * container by id, a process by host PID.
 *
 * No 'vscode' and no DOM here: the panel (../topology-panel.ts) and the unit tests use it.
 */
import type { ContainerRecord, ContainerStatus, HostSnapshot, LinkRecord, NetworkRecord, NodesView, ProcessRecord, PublishedPort } from '../../../agent/protocol';
import { addPortsAndPeers } from './model-nodes';
import { podMemberLabel, podSharingText, POD_CONTAINER_ANNOTATION } from './model-pods';

/** 'port': a published port (host side); 'peer': another node and its container subnet (./model-nodes.ts). */
export type TopologyNodeKind = 'host' | 'netns' | 'container' | 'process' | 'bridge' | 'veth' | 'loopback' | 'device' | 'port' | 'peer';

export interface TopologyNodeData {
  id: string;
  kind: TopologyNodeKind;
  /** The compound node this one sits in (a namespace, a container). */
  parent?: string;
  label: string;
  /** A second line: addresses, PIDs, status. */
  detail: string;
  /** What the sidebar reveals for it. */
  reveal: RevealTarget;
  /** Link state (devices) or container status; for colouring. */
  state: 'up' | 'down' | ContainerStatus | 'none';
  /** Namespace inode this node lives in (namespaces: their own). */
  netns: number | null;
  /** A link's addresses (CIDR); empty for other nodes. */
  addresses: string[];
}

export type RevealTarget =
  | { view: 'containers'; containerId: string }
  | { view: 'networks'; link: string; netns: number }
  | { view: 'none' };

/** 'dnat': a published port to its container; 'route' / 'tunnel': this node's bridge to a peer node (routed / overlay). */
export type TopologyEdgeKind = 'veth' | 'master' | 'dnat' | 'route' | 'tunnel';

export interface TopologyEdgeData {
  id: string;
  kind: TopologyEdgeKind;
  source: string;
  target: string;
  label: string;
}

export interface TopologyGraph {
  nodes: Map<string, TopologyNodeData>;
  edges: Map<string, TopologyEdgeData>;
}

/** Everything the graph is built from. */
export interface TopologyInputs {
  /** The host's network namespace (where the agent and most processes are). */
  hostNetns: number;
  /** Links in every namespace, as the snapshot and link events report them. */
  links: LinkRecord[];
  containers: ContainerView[];
  /** This node's peers and mode (node.list, node.changed); null from an agent without nodes. */
  nodes?: NodesView | null;
}

/** The part of a container record the topology draws. */
export interface ContainerView {
  id: string;
  name: string;
  status: ContainerStatus;
  pid: number | null;
  /** Inode of its network namespace; null while it has no process. */
  netns: number | null;
  network: NetworkRecord;
  processes: ProcessRecord[];
  /** The pod it belongs to (sharing the sandbox's network namespace); null outside pods. */
  pod: ContainerRecord['pod'];
  /** Its published ports (run -p); absent: none. */
  ports?: PublishedPort[];
  /** Its namespaces' inodes (what a pod's members share with the sandbox, ./model-pods.ts); absent: not known. */
  namespaces?: ContainerRecord['namespaces'];
  /** The Pod YAML container it stands for (a pod made from Pod YAML); absent or null: none. */
  podContainer?: string | null;
}

export interface TopologyDiff {
  /** New nodes (parents before children) and edges. */
  add: { nodes: TopologyNodeData[]; edges: TopologyEdgeData[] };
  /** Elements whose data changed (same id); a node whose parent changed is removed and added instead. */
  update: { nodes: TopologyNodeData[]; edges: TopologyEdgeData[] };
  /** Ids of elements gone: edges first, then nodes (children before parents). */
  remove: string[];
}

// --- ids -------------------------------------------------------------------------------------------

export const netnsNodeId = (inode: number): string => `netns:${inode}`;
export const linkNodeId = (netns: number, name: string): string => `link:${netns}/${name}`;
export const containerNodeId = (id: string): string => `container:${id}`;
export const processNodeId = (pid: number): string => `process:${pid}`;

// --- inputs ----------------------------------------------------------------------------------------

export function containerView(record: ContainerRecord): ContainerView {
  return {
    id: record.id,
    name: record.name,
    status: record.status,
    pid: record.pid,
    netns: record.pid !== null && record.status !== 'stopped' ? (record.namespaces.net ?? null) : null,
    network: record.network,
    processes: record.processes,
    pod: record.pod ?? null,
    ports: record.ports ?? [],
    namespaces: record.namespaces,
    podContainer: record.config.annotations?.[POD_CONTAINER_ANNOTATION] ?? null,
  };
}

/**
 * The host's network namespace: the one most processes live in. (PID 1's own link may be
 * unreadable — in a microVM, or under a restrictive ptrace policy — so it is not asked.)
 */
export function hostNetnsOf(snapshot: HostSnapshot): number {
  let host: { inode: number; processes: number } | null = null;
  for (const namespace of snapshot.namespaces) {
    if (namespace.type === 'net' && (!host || namespace.processes > host.processes)) host = namespace;
  }
  if (!host) throw new Error('the host snapshot lists no network namespace');
  return host.inode;
}

export function inputsFromSnapshot(snapshot: HostSnapshot, records: ContainerRecord[], nodes: NodesView | null = null): TopologyInputs {
  return { hostNetns: hostNetnsOf(snapshot), links: snapshot.links, containers: records.map(containerView), nodes };
}

/** A node.changed notification. */
export const applyNodesChange = (inputs: TopologyInputs, nodes: NodesView): TopologyInputs => ({ ...inputs, nodes });

const sameLink = (a: Pick<LinkRecord, 'netns' | 'ifindex'>, b: Pick<LinkRecord, 'netns' | 'ifindex'>): boolean => a.netns === b.netns && a.ifindex === b.ifindex;

/** A link.changed notification (the agent watches its own, the host's, namespace). */
export function applyLinkChange(inputs: TopologyInputs, event: 'added' | 'removed' | 'changed', link: LinkRecord): TopologyInputs {
  const rest = inputs.links.filter((existing) => !sameLink(existing, link));
  return { ...inputs, links: event === 'removed' ? rest : [...rest, link] };
}

/** A container's fresh record (after container.changed). A namespace it left behind loses its links. */
export function applyContainerRecord(inputs: TopologyInputs, record: ContainerRecord): TopologyInputs {
  const view = containerView(record);
  const containers = [...inputs.containers.filter((container) => container.id !== view.id), view];
  // A namespace's inode number is handed out again once it is gone: links listed under this one for
  // no container we know (an earlier namespace's, snapshotted before it died) are not this one's.
  const known = inputs.containers.some((container) => container.id === view.id || (view.netns !== null && container.netns === view.netns));
  const links = !known && view.netns !== null && view.netns !== inputs.hostNetns ? inputs.links.filter((link) => link.netns !== view.netns) : inputs.links;
  return { ...inputs, containers, links: withoutOrphanedLinks({ ...inputs, links }, containers) };
}

export function applyContainerRemoved(inputs: TopologyInputs, id: string): TopologyInputs {
  const containers = inputs.containers.filter((container) => container.id !== id);
  return { ...inputs, containers, links: withoutOrphanedLinks(inputs, containers) };
}

/**
 * Links of namespaces that no container holds any more. The namespace died with its last process,
 * and its inode number may be handed to a new namespace: stale links must not show up in it.
 */
function withoutOrphanedLinks(inputs: TopologyInputs, containers: ContainerView[]): LinkRecord[] {
  const before = new Set(inputs.containers.map((container) => container.netns).filter((inode): inode is number => inode !== null));
  const now = new Set(containers.map((container) => container.netns).filter((inode): inode is number => inode !== null));
  return inputs.links.filter((link) => link.netns === inputs.hostNetns || now.has(link.netns) || !before.has(link.netns));
}

// --- the graph -------------------------------------------------------------------------------------

/** Is the container's process alive, so that it has namespaces to draw? */
const isLive = (container: ContainerView): boolean => container.netns !== null && container.status !== 'stopped';

function linkKind(link: LinkRecord): TopologyNodeKind {
  if (link.kind === 'bridge' || link.kind === 'veth' || link.kind === 'loopback') return link.kind;
  return 'device';
}

/**
 * The links a container's namespace has before a snapshot has listed it: what its record says
 * (the runtime always brings up lo, and in bridge mode makes the eth0 end of the veth pair).
 * The next snapshot replaces these with the kernel's full list.
 */
function linksFromRecord(container: ContainerView, netns: number, hostNetns: number): LinkRecord[] {
  const links: LinkRecord[] = [{ ifindex: 1, name: 'lo', kind: 'loopback', mac: null, mtu: 65536, up: true, netns, addresses: ['127.0.0.1/8'], master: null, peer: null, container: container.name }];
  const network = container.network;
  if (network.mode === 'bridge' && network.ifname) {
    links.push({
      ifindex: -1, // unknown until a snapshot: the peer is matched by the host end's name instead
      name: network.ifname,
      kind: 'veth',
      mac: network.mac,
      mtu: 1500,
      up: true,
      netns,
      addresses: network.ip ? [`${network.ip}/${network.prefixLength ?? 32}`] : [],
      master: null,
      peer: network.vethHost ? { ifindex: -1, netns: hostNetns, name: network.vethHost } : null,
      container: container.name,
    });
  }
  return links;
}

export function buildGraph(inputs: TopologyInputs): TopologyGraph {
  const nodes = new Map<string, TopologyNodeData>();
  const edges = new Map<string, TopologyEdgeData>();
  const { hostNetns } = inputs;
  const live = inputs.containers.filter(isLive).sort((a, b) => a.name.localeCompare(b.name));

  // Namespaces: the host's, and each one a live container is in (shared ones once).
  nodes.set(netnsNodeId(hostNetns), {
    id: netnsNodeId(hostNetns),
    kind: 'host',
    label: 'host network namespace',
    detail: `net:[${hostNetns}]`,
    reveal: { view: 'none' },
    state: 'none',
    netns: hostNetns,
    addresses: [],
  });
  const members = new Map<number, ContainerView[]>();
  for (const container of live) {
    const inode = container.netns!;
    members.set(inode, [...(members.get(inode) ?? []), container]);
  }
  for (const [inode, holders] of members) {
    if (inode === hostNetns) continue;
    nodes.set(netnsNodeId(inode), {
      id: netnsNodeId(inode),
      kind: 'netns',
      label: namespaceLabel(holders),
      detail: [`net:[${inode}]`, podSharingText(holders)].filter(Boolean).join(' · '),
      reveal: { view: 'containers', containerId: (holders.find((holder) => holder.pod?.sandbox) ?? holders[0]!).id },
      state: 'none',
      netns: inode,
      addresses: [],
    });
  }

  // Links: the host's, and those of the namespaces shown. A container namespace no snapshot has
  // listed yet gets the links its record describes.
  const listed = new Set(inputs.links.map((link) => link.netns));
  const links = inputs.links.filter((link) => nodes.has(netnsNodeId(link.netns)));
  for (const [inode, holders] of members) {
    if (inode !== hostNetns && !listed.has(inode)) links.push(...linksFromRecord(holders[0]!, inode, hostNetns));
  }
  links.sort((a, b) => a.netns - b.netns || a.name.localeCompare(b.name));
  for (const link of links) {
    const id = linkNodeId(link.netns, link.name);
    nodes.set(id, {
      id,
      kind: linkKind(link),
      parent: netnsNodeId(link.netns),
      label: link.name,
      detail: [link.addresses.join(' '), link.kind === 'bridge' ? 'bridge' : '', link.up ? '' : 'down'].filter(Boolean).join(' · '),
      reveal: { view: 'networks', link: link.name, netns: link.netns },
      state: link.up ? 'up' : 'down',
      netns: link.netns,
      addresses: [...link.addresses].sort(),
    });
  }

  // Edges: a port to its bridge, and each veth pair once (the cable between two namespaces).
  const byIndex = new Map(links.map((link) => [`${link.netns}/${link.ifindex}`, link]));
  const hostEndOf = new Map(live.filter((container) => container.network.vethHost).map((container) => [container.network.vethHost!, container]));
  for (const link of links) {
    const id = linkNodeId(link.netns, link.name);
    if (link.master) {
      const bridge = linkNodeId(link.netns, link.master);
      if (nodes.has(bridge)) edges.set(`master:${id}`, { id: `master:${id}`, kind: 'master', source: id, target: bridge, label: '' });
    }
    if (link.kind !== 'veth' || !link.peer) continue;
    const peer = peerNodeId(link, byIndex, hostEndOf, hostNetns);
    if (!peer || !nodes.has(peer) || peer === id) continue;
    const [source, target] = [id, peer].sort();
    const edgeId = `veth:${source}|${target}`;
    edges.set(edgeId, { id: edgeId, kind: 'veth', source: source!, target: target!, label: 'veth pair' });
  }

  // Containers in their namespace, and their processes in them.
  for (const container of live) {
    const id = containerNodeId(container.id);
    const network = container.network;
    nodes.set(id, {
      id,
      kind: 'container',
      parent: netnsNodeId(container.netns!),
      label: podMemberLabel(container),
      detail: [container.pod?.sandbox ? 'pod sandbox' : '', container.podContainer ? container.name : '', container.status, network.mode === 'host' ? 'host network' : network.mode === 'none' ? 'no network' : network.ip ?? ''].filter(Boolean).join(' · '),
      reveal: { view: 'containers', containerId: container.id },
      state: container.status,
      netns: container.netns,
      addresses: [],
    });
    for (const process of [...container.processes].sort((a, b) => a.pid - b.pid)) {
      const processId = processNodeId(process.pid);
      nodes.set(processId, {
        id: processId,
        kind: 'process',
        parent: id,
        label: process.command,
        detail: `pid ${process.nspid} inside · ${process.pid} on host`,
        reveal: { view: 'containers', containerId: container.id },
        state: 'none',
        netns: container.netns,
        addresses: [],
      });
    }
  }
  addPortsAndPeers({ nodes, edges }, inputs, live);
  return { nodes, edges };
}

/**
 * What a container namespace is called: after its pod when a pod's sandbox holds it (the members
 * are inside the box), else after the containers in it.
 */
function namespaceLabel(holders: ContainerView[]): string {
  const pod = holders.find((holder) => holder.pod?.sandbox)?.pod ?? holders.find((holder) => holder.pod)?.pod;
  if (pod) return `pod ${pod.name}`;
  const names = holders.map((holder) => holder.name).join(', ');
  return holders.length > 1 ? `netns shared by ${names}` : `netns of ${names}`;
}

/** The node at a veth's other end: by namespace + ifindex, or (host end from a link event) by the container whose host end it is. */
function peerNodeId(link: LinkRecord, byIndex: Map<string, LinkRecord>, hostEndOf: Map<string, ContainerView>, hostNetns: number): string | null {
  const peer = link.peer!;
  if (peer.netns !== null && peer.ifindex > 0) {
    const found = byIndex.get(`${peer.netns}/${peer.ifindex}`);
    if (found) return linkNodeId(found.netns, found.name);
  }
  if (peer.netns !== null && peer.name && peer.ifindex <= 0) return linkNodeId(peer.netns, peer.name);
  if (link.netns === hostNetns) {
    const container = hostEndOf.get(link.name);
    if (container?.netns && container.network.ifname) return linkNodeId(container.netns, container.network.ifname);
  }
  return null;
}

// --- diffs -----------------------------------------------------------------------------------------

function sameData(a: object, b: object): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Depth of a node in the compound tree, for ordering adds (parents first) and removes (children first). */
function depth(graph: TopologyGraph, id: string): number {
  let level = 0;
  for (let node = graph.nodes.get(id); node?.parent; node = graph.nodes.get(node.parent)) level++;
  return level;
}

export function diffGraphs(before: TopologyGraph, after: TopologyGraph): TopologyDiff {
  const diff: TopologyDiff = { add: { nodes: [], edges: [] }, update: { nodes: [], edges: [] }, remove: [] };
  const removedNodes: string[] = [];
  for (const [id, node] of after.nodes) {
    const old = before.nodes.get(id);
    if (!old) diff.add.nodes.push(node);
    else if (old.parent !== node.parent) {
      removedNodes.push(id);
      diff.add.nodes.push(node);
    } else if (!sameData(old, node)) diff.update.nodes.push(node);
  }
  for (const id of before.nodes.keys()) if (!after.nodes.has(id)) removedNodes.push(id);
  // An edge goes when it changed ends or either end is re-added (removing a node removes its edges).
  const replaced = new Set(removedNodes);
  for (const [id, edge] of after.edges) {
    const old = before.edges.get(id);
    if (!old || replaced.has(edge.source) || replaced.has(edge.target)) {
      if (old) diff.remove.push(id);
      diff.add.edges.push(edge);
    } else if (!sameData(old, edge)) diff.update.edges.push(edge);
  }
  for (const id of before.edges.keys()) if (!after.edges.has(id)) diff.remove.push(id);
  removedNodes.sort((a, b) => depth(before, b) - depth(before, a));
  diff.remove.push(...removedNodes);
  diff.add.nodes.sort((a, b) => depth(after, a.id) - depth(after, b.id));
  return diff;
}

export function isEmptyDiff(diff: TopologyDiff): boolean {
  return diff.add.nodes.length + diff.add.edges.length + diff.update.nodes.length + diff.update.edges.length + diff.remove.length === 0;
}

/** The whole graph as one diff from nothing: what a new (or reloaded) page is sent first. */
export function graphAsDiff(graph: TopologyGraph): TopologyDiff {
  return diffGraphs({ nodes: new Map(), edges: new Map() }, graph);
}

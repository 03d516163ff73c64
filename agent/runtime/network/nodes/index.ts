/*
 * Several nodes: containers on one machine reaching containers on another.
 *
 * Each node's agent has its own container subnet — its default bridge's, e.g. 10.1.1.0/24 on A
 * and 10.1.2.0/24 on B (Kubernetes calls it the node's pod CIDR) — so that an address names one
 * container on one node. The agent is told its peers (`containers-lab node add B 192.168.5.2
 * 10.1.2.0/24`) and joins the subnets in one of two classic ways:
 *
 *   routed   (./routed.ts)   a route per peer subnet via the peer's address; the host forwards.
 *   overlay  (./overlay.ts)  a VXLAN device on the bridge; per peer a route, a neighbour entry and
 *                            forwarding entries send the peer's subnet through the tunnel.
 *   none                     nothing of the above: each node's containers stay among themselves.
 *
 * In both modes the agent's nftables table lets the peers' subnets pass unmasqueraded (and, while
 * it has rules, keeps ip_forward on: ../ports/). Everything made is the agent's own and found again
 * exactly: routes by their protocol number (77) and a peer's subnet, entries by the peers in the
 * state file (./state.ts), the device by its name. The protocol number alone is not enough: a second
 * agent on the same host (another state root, as the lab VM's tests run beside its service) marks
 * its routes with it too, and they are not this agent's to remove. Switching modes first removes everything the old mode
 * made; removing a node removes its route and entries, and the device with the last peer. At
 * start the agent removes what it finds of its own and makes it again from the state file.
 * A change that fails half-way is undone before its one-line error; the state file changes last.
 */
import { conflict, notFound } from '../../../errors';
import type { NodeMode, NodesView, PeerNode } from '../../../protocol';
import type { RouteSocket } from '../../../kernel/rtnetlink';
import { dumpNamespace } from '../../../inspect/links';
import { hostRanges } from '../host-subnets';
import { withHostSocket } from '../netns';
import { setPeerRules } from '../ports';
import { agentRoutes, deleteRoute } from '../routes';
import { listVxlans } from '../vxlan';
import {
  addOverlayPeer, localToward, makeOverlayDevice, overlayPath, removeOverlayDevice, removeOverlayPeer, vtepMac, type BridgeContainer,
} from './overlay';
import { addRoutedPeer, removeRoutedPeer, routedPath } from './routed';
import { readNodesState, writeNodesState, type NodesState } from './state';
import { refuseClashes, validatePeer, validateVni } from './validate';

export { overlayMtuOf, nodesFile } from './state';
export { vtepMac, vxlanName } from './overlay';

export interface NodeContext {
  stateRoot: string;
  /** This node's bridge and container subnet (the agent's default bridge). */
  bridge: { name: string; subnet: string };
  /** The containers on that bridge now (their MTU follows the overlay's). */
  containers: () => BridgeContainer[];
}

export function nodesView(context: NodeContext): NodesView {
  const state = readNodesState(context.stateRoot);
  return withHostSocket((host) => viewOf(host, state, context));
}

function viewOf(host: RouteSocket, state: NodesState, context: NodeContext): NodesView {
  let toward: ReturnType<typeof localToward> | null = null;
  try {
    toward = state.nodes[0] ? localToward(host, state.nodes[0]) : null;
  } catch {
    toward = null; // no route to the first peer (yet)
  }
  const overlay = state.overlay;
  return {
    mode: state.mode,
    vni: state.vni,
    self: {
      bridge: context.bridge.name,
      subnet: context.bridge.subnet,
      address: toward?.address ?? null,
      vxlan: overlay ? { name: overlay.device, mac: vtepMac(context.bridge.subnet), mtu: overlay.mtu, underlay: toward?.underlay.name ?? '?' } : null,
    },
    nodes: state.nodes.map((peer) => ({
      ...peer,
      path: state.mode === 'routed' ? { route: routedPath(peer), vtepMac: null } : overlay ? overlayPath(peer, overlay.bridge) : null,
    })),
  };
}

/** Makes what `state` says for one peer (and the overlay device first, when it is missing). */
function buildPeer(host: RouteSocket, state: NodesState, context: NodeContext, peer: PeerNode): void {
  if (state.mode === 'routed') addRoutedPeer(host, peer);
  if (state.mode !== 'overlay') return;
  if (!state.overlay) {
    state.overlay = makeOverlayDevice(host, state, context.bridge, peer, context.containers());
    writeNodesState(context.stateRoot, state); // the device exists: a crash from here on must know it
  }
  addOverlayPeer(host, state.overlay, peer);
}

function teardownPeer(host: RouteSocket, state: NodesState, peer: PeerNode): void {
  if (state.mode === 'routed') removeRoutedPeer(host, peer);
  if (state.overlay) removeOverlayPeer(host, state.overlay, peer);
}

function build(host: RouteSocket, state: NodesState, context: NodeContext): void {
  if (state.mode === 'none') return;
  setPeerRules(context.bridge.subnet, state.nodes);
  for (const peer of state.nodes) buildPeer(host, state, context, peer);
}

/** Removes everything of the agent's: each peer's entries and route (of its protocol, to that peer's subnet), the device, the node rules. */
function teardown(host: RouteSocket, state: NodesState, context: NodeContext): void {
  for (const peer of state.nodes) teardownPeer(host, state, peer);
  const peerSubnets = new Set(state.nodes.map((peer) => peer.subnet));
  for (const route of agentRoutes(host)) if (peerSubnets.has(route.dst)) deleteRoute(host, route.dst);
  if (state.overlay) removeOverlayDevice(host, state.overlay, context.containers());
  state.overlay = null;
  setPeerRules(context.bridge.subnet, []);
}

export function addNode(context: NodeContext, input: PeerNode): NodesView {
  const peer = validatePeer(input);
  const state = readNodesState(context.stateRoot);
  return withHostSocket((host) => {
    const { addresses } = dumpNamespace(host);
    const own = [...addresses.values()].flat().map((cidr) => cidr.split('/')[0]!);
    refuseClashes(peer, { subnet: context.bridge.subnet, addresses: own }, state.nodes, hostRanges(host).ranges);
    const deviceBefore = state.overlay;
    try {
      if (state.mode !== 'none') {
        setPeerRules(context.bridge.subnet, [...state.nodes, peer]);
        buildPeer(host, state, context, peer);
      }
    } catch (error) {
      teardownPeer(host, state, peer);
      if (!deviceBefore && state.overlay) removeOverlayDevice(host, state.overlay, context.containers());
      state.overlay = deviceBefore;
      writeNodesState(context.stateRoot, state);
      setPeerRules(context.bridge.subnet, state.mode === 'none' ? [] : state.nodes);
      throw error;
    }
    state.nodes.push(peer);
    writeNodesState(context.stateRoot, state);
    return viewOf(host, state, context);
  });
}

export function removeNode(context: NodeContext, name: string): NodesView {
  const state = readNodesState(context.stateRoot);
  const peer = state.nodes.find((node) => node.name === name);
  if (!peer) throw notFound(`unknown node "${String(name).slice(0, 40)}" (containers-lab node ls lists them)`);
  return withHostSocket((host) => {
    teardownPeer(host, state, peer);
    state.nodes = state.nodes.filter((node) => node !== peer);
    if (state.overlay && state.nodes.length === 0) {
      removeOverlayDevice(host, state.overlay, context.containers());
      state.overlay = null;
    }
    setPeerRules(context.bridge.subnet, state.mode === 'none' ? [] : state.nodes);
    writeNodesState(context.stateRoot, state);
    return viewOf(host, state, context);
  });
}

export function setNodeMode(context: NodeContext, mode: NodeMode, vni?: number): NodesView {
  const before = readNodesState(context.stateRoot);
  const after: NodesState = { ...before, nodes: [...before.nodes], mode, vni: vni === undefined ? before.vni : validateVni(vni), overlay: null };
  return withHostSocket((host) => {
    if (mode === 'overlay') {
      const ours = before.overlay?.device;
      const other = listVxlans(host).find((device) => device.vni === after.vni && device.name !== ours);
      if (other) throw conflict(`VNI ${after.vni} is in use by VXLAN device ${other.name}: choose another (node mode overlay --vni N)`);
    }
    teardown(host, before, context);
    writeNodesState(context.stateRoot, { ...before, overlay: null, mode: 'none' });
    try {
      build(host, after, context);
    } catch (error) {
      teardown(host, after, context);
      writeNodesState(context.stateRoot, { ...after, mode: 'none', overlay: null });
      throw error;
    }
    writeNodesState(context.stateRoot, after);
    return viewOf(host, after, context);
  });
}

/** At agent start: what the state file says, made afresh (what was left of the agent's own goes first). */
export function reapplyNodes(context: NodeContext): void {
  const state = readNodesState(context.stateRoot);
  if (state.mode === 'none' && !state.overlay) return;
  withHostSocket((host) => {
    teardown(host, state, context);
    writeNodesState(context.stateRoot, state);
    try {
      build(host, state, context);
    } catch (error) {
      // Nothing half-made; the mode stays what was asked for, and the next start tries again.
      teardown(host, state, context);
      writeNodesState(context.stateRoot, state);
      throw error;
    }
    writeNodesState(context.stateRoot, state);
  });
}


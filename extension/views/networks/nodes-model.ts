/*
 * This node and its peers (node.list / node.changed), as rows for the Networks view and the Lab
 * view — without 'vscode'. Each node has a container subnet of its own; the path to a peer is a
 * route via its address (routed mode) or the VXLAN tunnel to it (overlay mode).
 */
import type { NodesView } from '../../../agent/protocol';

export interface NodeRow {
  key: string;
  label: string;
  description: string;
  tooltip: string;
  icon: string;
}

/** Whether there is anything to show: peers, or a mode other than none. */
export const hasNodes = (view: NodesView | null): view is NodesView => view !== null && (view.nodes.length > 0 || view.mode !== 'none');

/** "routed · this node 10.244.1.0/24 at 192.168.56.11 on cl0" */
export function thisNodeRow(view: NodesView): NodeRow {
  const self = view.self;
  const vxlan = self.vxlan ? `VXLAN ${self.vxlan.name} (VNI ${view.vni}, ${self.vxlan.mac}, MTU ${self.vxlan.mtu} over ${self.vxlan.underlay})` : null;
  return {
    key: 'this-node',
    label: 'This node',
    description: `${self.subnet}${self.address ? ` at ${self.address}` : ''} · ${view.mode}${view.mode === 'overlay' ? ` VNI ${view.vni}` : ''}`,
    tooltip: [`containers on bridge ${self.bridge}, subnet ${self.subnet}`, self.address ? `address toward its peers: ${self.address}` : 'no peer reachable yet', `mode: ${view.mode}`, vxlan].filter(Boolean).join('\n'),
    icon: 'server',
  };
}

export function peerRows(view: NodesView): NodeRow[] {
  return view.nodes.map((node) => ({
    key: `node:${node.name}`,
    label: node.name,
    description: `${node.subnet} at ${node.address} · ${node.path ? (view.mode === 'overlay' ? `VXLAN ${view.vni}` : `route via ${node.address}`) : 'not joined'}`,
    tooltip: [
      `node ${node.name}: containers ${node.subnet}, address ${node.address}`,
      node.path ? `path: ${node.path.route}` : `mode ${view.mode}: no path made (containers-lab node mode routed|overlay)`,
      node.path?.vtepMac ? `its VXLAN MAC ${node.path.vtepMac} → ${node.address} (bridge fdb)` : '',
    ].filter(Boolean).join('\n'),
    icon: node.path ? 'remote' : 'debug-disconnect',
  }));
}

/** The Nodes section's own line: "routed · 2 peers". */
export const nodesDescription = (view: NodesView): string => `${view.mode} · ${view.nodes.length} peer${view.nodes.length === 1 ? '' : 's'}`;

/*
 * What the agent of a node remembers about its peers: <stateRoot>/nodes/network.json.
 *
 * The mode, the VNI, the peers as `node add` gave them, and what overlay mode made that outlives
 * a command (the VXLAN device's MTU, which every container attached later gets too; whether the
 * agent made the bridge for the device). The kernel's routes, entries and devices are rebuilt
 * from this file when the agent starts (they are gone after a reboot; after a restart the agent
 * removes its own and makes them again). Written whole, synced and renamed, like every state file.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasErrno } from '../../../kernel/errors';
import { writeAtomically } from '../../../kernel/durable-files';
import { NODE_MODES, type NodeMode, type PeerNode } from '../../../protocol';

export const DEFAULT_VNI = 42;

export interface NodesState {
  mode: NodeMode;
  vni: number;
  nodes: PeerNode[];
  /** Overlay, while its device exists: the bridge it is a port of and the MTU it gave the bridge's ports. */
  overlay: { bridge: string; device: string; mtu: number; madeBridge: boolean } | null;
}

export const nodesFile = (stateRoot: string): string => join(stateRoot, 'nodes', 'network.json');

export function readNodesState(stateRoot: string): NodesState {
  let text: string;
  try {
    text = readFileSync(nodesFile(stateRoot), 'utf8');
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return { mode: 'none', vni: DEFAULT_VNI, nodes: [], overlay: null };
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<NodesState>;
  return {
    mode: (NODE_MODES as readonly string[]).includes(parsed.mode ?? '') ? parsed.mode! : 'none',
    vni: Number.isInteger(parsed.vni) ? parsed.vni! : DEFAULT_VNI,
    nodes: Array.isArray(parsed.nodes) ? parsed.nodes : [],
    overlay: parsed.overlay ?? null,
  };
}

export function writeNodesState(stateRoot: string, state: NodesState): void {
  mkdirSync(join(stateRoot, 'nodes'), { recursive: true, mode: 0o700 });
  writeAtomically(nodesFile(stateRoot), `${JSON.stringify(state, null, 2)}\n`);
}

/** The MTU a container attached to `bridge` must have: the overlay's while its device is a port there. */
export function overlayMtuOf(stateRoot: string, bridge: string): number | null {
  try {
    const overlay = readNodesState(stateRoot).overlay;
    return overlay && overlay.bridge === bridge ? overlay.mtu : null;
  } catch {
    return null;
  }
}

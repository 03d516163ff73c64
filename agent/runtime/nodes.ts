/*
 * The runtime's nodes: ./network/nodes/ seen from the containers on this node's bridge.
 *
 * Only the runtime knows which containers sit on the default bridge (their host veth and PID),
 * whose MTU the overlay changes; the network module knows routes, entries and devices. Every
 * change is announced (node.changed) so every client's views follow.
 */
import type { NodeMode, NodesView, PeerNode } from '../protocol';
import { addNode, nodesView, reapplyNodes, removeNode, setNodeMode, type NodeContext } from './network/nodes';

export class RuntimeNodes {
  constructor(
    private readonly context: () => NodeContext,
    private readonly changed: (view: NodesView) => void,
  ) {}

  list(): NodesView {
    return nodesView(this.context());
  }

  add(peer: PeerNode): NodesView {
    return this.announce(addNode(this.context(), peer));
  }

  remove(name: string): NodesView {
    return this.announce(removeNode(this.context(), name));
  }

  mode(mode: NodeMode, vni?: number): NodesView {
    return this.announce(setNodeMode(this.context(), mode, vni));
  }

  /** At agent start (serve): the state file's mode and peers, made afresh. */
  reapply(): void {
    reapplyNodes(this.context());
  }

  private announce(view: NodesView): NodesView {
    this.changed(view);
    return view;
  }
}

/*
 * The Networks view: bridges → veth pairs → containers. Its picture (./live-networks.ts) is one
 * host.snapshot — the links of the host and of every container's network namespace — taken on
 * first load, after a reconnect and on "Refresh", then kept current from the agent's notifications
 * without reading the whole host again: link events for the host's side, and a new container's
 * record (container.inspect) for the far end of its veth. While the view is hidden no snapshot
 * is taken: it waits until the view is shown.
 */
import * as vscode from 'vscode';
import type { AgentNotifications, NodesView } from '../../../agent/protocol';
import type { AgentClient } from '../../../agent/service/client';
import { LiveNetworks } from './live-networks';
import { BridgeNode, PeerNode, PortNode, type NetworksTreeNode as LinkTreeNode } from './network-nodes';
import { NodeRowNode, NodesSectionNode } from './node-nodes';
import { hasNodes } from './nodes-model';

export type NetworksTreeNode = LinkTreeNode | NodesSectionNode | NodeRowNode;

export class NetworksProvider implements vscode.TreeDataProvider<NetworksTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<NetworksTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly live: LiveNetworks;
  /** The next look at the view must read the host (never read, reconnected, or a port left unexplained). */
  private stale = true;
  private visible = false;
  private reading: Promise<void> | null = null;
  private readAgain = false;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private treeView: vscode.TreeView<NetworksTreeNode> | undefined;
  /** This node and its peers (node.list, node.changed); null before it is read or from an older agent. */
  private nodes: NodesView | null = null;

  constructor(client: () => AgentClient | null, onError: (message: string, error: unknown) => void) {
    this.live = new LiveNetworks(client, {
      changed: () => this.changed.fire(undefined),
      incomplete: () => this.reload(),
      error: onError,
    });
  }

  attach(treeView: vscode.TreeView<NetworksTreeNode>): void {
    this.treeView = treeView;
    this.visible = treeView.visible;
    this.disposables.push(
      treeView.onDidChangeVisibility(({ visible }) => {
        this.visible = visible;
        if (visible && this.stale) void this.snapshot();
      }),
    );
  }

  getTreeItem(element: NetworksTreeNode): vscode.TreeItem {
    return element.treeItem();
  }

  getChildren(element?: NetworksTreeNode): NetworksTreeNode[] {
    if (element) return element.children();
    const bridges: NetworksTreeNode[] = this.live.bridges().map((bridge) => new BridgeNode(bridge));
    // The nodes first: what joins this host's containers to other machines' comes before its own bridges.
    return hasNodes(this.nodes) ? [new NodesSectionNode(this.nodes), ...bridges] : bridges;
  }

  /** node.list at connect, node.changed after; null when disconnected. */
  setNodes(nodes: NodesView | null): void {
    this.nodes = nodes;
    this.changed.fire(undefined);
  }

  getParent(element: NetworksTreeNode): NetworksTreeNode | undefined {
    return element.parent;
  }

  /**
   * Shows and selects a link (from the topology): a bridge, a veth's host end, or a container's end
   * of a pair, named by its namespace and name. False when the view does not list that link.
   */
  async reveal(name: string, netns: number): Promise<boolean> {
    if (!this.treeView) return false;
    if (this.stale) await this.snapshot();
    for (const bridge of this.live.bridges()) {
      const bridgeNode = new BridgeNode(bridge);
      let found: NetworksTreeNode | undefined = bridge.name === name && bridge.netns === netns ? bridgeNode : undefined;
      for (const port of bridge.ports) {
        if (found) break;
        const portNode = new PortNode(bridgeNode, port);
        if (port.name === name && bridge.netns === netns) found = portNode;
        else if (port.peer && port.peer.name === name && port.peer.netns === netns) found = new PeerNode(portNode, port.peer);
      }
      if (found) {
        await this.treeView.reveal(found, { select: true, focus: true, expand: true });
        return true;
      }
    }
    return false;
  }

  /** A new connection (or "Refresh", or a port no record explained): read the host if anyone is looking. */
  reload(): void {
    this.stale = true;
    if (this.visible) void this.snapshot();
  }

  clear(): void {
    this.stale = true;
    this.nodes = null;
    this.live.clear();
  }

  handleLinkChanged(params: AgentNotifications['link.changed']): void {
    this.live.linkChanged(params);
  }

  /** A container started: its record draws the far end of its veth (see ./live-networks.ts). */
  handleContainerChanged(params: AgentNotifications['container.changed']): void {
    this.live.containerChanged(params);
  }

  handleContainerRemoved(name: string): void {
    this.live.containerRemoved(name);
  }

  /** One read of the host at a time; asked again meanwhile, it reads once more after. */
  private snapshot(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return this.reading;
    }
    this.stale = false;
    this.reading = this.live.load().finally(() => {
      this.reading = null;
      if (!this.live.loaded) this.stale = true;
      if (this.readAgain) {
        this.readAgain = false;
        void this.snapshot();
      }
    });
    return this.reading;
  }

  dispose(): void {
    this.live.dispose();
    for (const disposable of this.disposables) disposable.dispose();
  }
}

/*
 * The Networks view: bridges → veth pairs → containers. Its picture is one host.snapshot (the
 * links of the host and of every container's network namespace), then kept current by the
 * agent's link.changed events. A new snapshot is asked for only when an event brings a veth
 * whose other end the picture lacks (a new container), and only while the view is visible —
 * otherwise it is marked stale and fetched when the view is shown.
 */
import * as vscode from 'vscode';
import type { AgentNotifications, LinkRecord } from '../../../agent/protocol';
import type { AgentClient } from '../../../agent/service/client';
import { applyLinkEvent, buildNetworkModel, needsSnapshot } from './model';
import { BridgeNode, PeerNode, PortNode, type NetworksTreeNode } from './network-nodes';

const SNAPSHOT_DEBOUNCE_MS = 300;

export class NetworksProvider implements vscode.TreeDataProvider<NetworksTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<NetworksTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private links: LinkRecord[] = [];
  private stale = true;
  private visible = false;
  private pending: NodeJS.Timeout | undefined;
  private generation = 0;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private treeView: vscode.TreeView<NetworksTreeNode> | undefined;

  constructor(
    private readonly client: () => AgentClient | null,
    private readonly onError: (message: string, error: unknown) => void,
  ) {}

  attach(treeView: vscode.TreeView<NetworksTreeNode>): void {
    this.treeView = treeView;
    this.visible = treeView.visible;
    this.disposables.push(
      treeView.onDidChangeVisibility(({ visible }) => {
        this.visible = visible;
        if (visible && this.stale) this.scheduleSnapshot(0);
      }),
    );
  }

  getTreeItem(element: NetworksTreeNode): vscode.TreeItem {
    return element.treeItem();
  }

  getChildren(element?: NetworksTreeNode): NetworksTreeNode[] {
    if (element) return element.children();
    return buildNetworkModel(this.links).map((bridge) => new BridgeNode(bridge));
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
    for (const bridge of buildNetworkModel(this.links)) {
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

  /** A new connection (or "Refresh"): take a fresh snapshot if anyone is looking. */
  reload(): void {
    this.stale = true;
    if (this.visible) this.scheduleSnapshot(0);
  }

  clear(): void {
    this.generation++;
    this.links = [];
    this.stale = true;
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    this.changed.fire(undefined);
  }

  handleLinkChanged({ event, link }: AgentNotifications['link.changed']): void {
    const incomplete = needsSnapshot(this.links, event, link);
    this.links = applyLinkEvent(this.links, event, link);
    this.changed.fire(undefined);
    if (incomplete) {
      this.stale = true;
      if (this.visible) this.scheduleSnapshot(SNAPSHOT_DEBOUNCE_MS);
    }
  }

  /** A container went away: its namespace's links went with it (the host end's removal comes as an event). */
  handleContainerRemoved(name: string): void {
    const before = this.links.length;
    this.links = this.links.filter((link) => link.container !== name || link.kind === 'bridge');
    if (this.links.length !== before) this.changed.fire(undefined);
  }

  private scheduleSnapshot(delayMs: number): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = undefined;
      void this.snapshot();
    }, delayMs);
  }

  private async snapshot(): Promise<void> {
    const client = this.client();
    if (!client) return;
    const generation = this.generation;
    try {
      const snapshot = await client.call('host.snapshot', {}, { timeoutMs: 30_000 });
      if (generation !== this.generation) return;
      this.links = snapshot.links;
      this.stale = false;
      this.changed.fire(undefined);
    } catch (error) {
      this.onError('Networks: host.snapshot failed', error);
    }
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    for (const disposable of this.disposables) disposable.dispose();
  }
}

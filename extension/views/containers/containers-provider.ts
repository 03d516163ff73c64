/*
 * The Containers view: one node per container (kept per id, so a notification refreshes exactly
 * that node), each unfolding into the kernel objects it is made of.
 *
 * Updates come from the store, which follows the agent's notifications. The one exception to
 * "never poll": while a container node is expanded and the view is visible, that container alone
 * is re-inspected every few seconds so its cgroup usage and process list stay live.
 */
import * as vscode from 'vscode';
import { ContainerNode } from './container-node';
import type { ContainerStore } from './container-store';
import { sortSummaries } from './model';
import type { ContainersTreeNode } from './tree-node';

const LIVE_REFRESH_MS = 2000;

export class ContainersProvider implements vscode.TreeDataProvider<ContainersTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ContainersTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly nodes = new Map<string, ContainerNode>();
  private readonly expanded = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private visible = false;
  private treeView: vscode.TreeView<ContainersTreeNode> | undefined;

  constructor(private readonly store: ContainerStore) {
    const unsubscribe = store.onDidChange((change) => {
      if (change.kind === 'all') {
        for (const id of this.nodes.keys()) if (!store.summary(id)) this.forget(id);
        this.changed.fire(undefined);
      } else {
        const node = this.nodes.get(change.id);
        this.changed.fire(node);
      }
    });
    this.disposables.push({ dispose: unsubscribe }, this.changed);
  }

  /** Connects the tree view's expand/collapse/visibility events to the live refresh. */
  attach(treeView: vscode.TreeView<ContainersTreeNode>): void {
    this.treeView = treeView;
    this.visible = treeView.visible;
    this.disposables.push(
      treeView.onDidExpandElement(({ element }) => {
        if (element instanceof ContainerNode) this.expanded.add(element.id);
        this.updateTimer();
      }),
      treeView.onDidCollapseElement(({ element }) => {
        if (element instanceof ContainerNode) this.expanded.delete(element.id);
        this.updateTimer();
      }),
      treeView.onDidChangeVisibility(({ visible }) => {
        this.visible = visible;
        this.updateTimer();
      }),
    );
  }

  getTreeItem(element: ContainersTreeNode): vscode.TreeItem {
    return element.treeItem();
  }

  getChildren(element?: ContainersTreeNode): ContainersTreeNode[] | Promise<ContainersTreeNode[]> {
    if (element) return element.children();
    return sortSummaries(this.store.list()).map((summary) => this.nodeFor(summary.id));
  }

  getParent(element: ContainersTreeNode): ContainersTreeNode | undefined {
    return element.parent;
  }

  nodeFor(id: string): ContainerNode {
    let node = this.nodes.get(id);
    if (!node) {
      node = new ContainerNode(id, this.store);
      this.nodes.set(id, node);
    }
    return node;
  }

  /** Shows and selects a container's node (after "Start busybox container"). */
  async reveal(id: string): Promise<void> {
    if (!this.treeView || !this.store.summary(id)) return;
    await this.treeView.reveal(this.nodeFor(id), { select: true, focus: false, expand: false });
  }

  /** The containers selected in the view (for commands run from the view's title or keyboard). */
  selection(): ContainerNode[] {
    return (this.treeView?.selection ?? []).filter((node): node is ContainerNode => node instanceof ContainerNode);
  }

  private forget(id: string): void {
    this.nodes.delete(id);
    this.expanded.delete(id);
    this.updateTimer();
  }

  private updateTimer(): void {
    const wanted = this.visible && this.expanded.size > 0;
    if (wanted && !this.timer) {
      this.timer = setInterval(() => this.refreshExpanded(), LIVE_REFRESH_MS);
    } else if (!wanted && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private refreshExpanded(): void {
    for (const id of this.expanded) {
      if (this.store.summary(id)?.status !== 'running') continue;
      // Errors (a container removed meanwhile, a dropped connection) surface through the
      // notifications and the connection state; a missed tick is harmless.
      this.store.inspect(id).catch(() => undefined);
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}

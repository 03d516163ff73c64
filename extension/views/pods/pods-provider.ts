/*
 * The Pods view: one node per pod, kept per name so a refresh keeps the tree's expansion.
 * Updates come from the store, which follows the agent's pod.changed / pod.removed notifications
 * (an apply, a restart, a probe, a deletion — from VS Code, the CLI or the static pod directory).
 */
import * as vscode from 'vscode';
import { sortPods } from './model';
import { PodContainerNode } from './pod-container-node';
import { PodNode } from './pod-node';
import type { PodStore } from './pod-store';
import type { PodsTreeNode } from './tree-node';

export class PodsProvider implements vscode.TreeDataProvider<PodsTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PodsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly nodes = new Map<string, PodNode>();
  private readonly disposables: vscode.Disposable[] = [];
  private treeView: vscode.TreeView<PodsTreeNode> | undefined;

  constructor(private readonly store: PodStore) {
    const unsubscribe = store.onDidChange((name) => {
      const node = name === undefined ? undefined : this.nodes.get(name);
      if (node) return this.changed.fire(node);
      for (const known of this.nodes.keys()) if (!store.summary(known)) this.nodes.delete(known);
      this.changed.fire(undefined);
    });
    this.disposables.push({ dispose: unsubscribe }, this.changed);
  }

  attach(treeView: vscode.TreeView<PodsTreeNode>): void {
    this.treeView = treeView;
  }

  getTreeItem(element: PodsTreeNode): vscode.TreeItem {
    return element.treeItem();
  }

  getChildren(element?: PodsTreeNode): PodsTreeNode[] | Promise<PodsTreeNode[]> {
    if (element) return element.children();
    return sortPods(this.store.list()).map((pod) => this.nodeFor(pod.name));
  }

  getParent(element: PodsTreeNode): PodsTreeNode | undefined {
    return element.parent;
  }

  nodeFor(name: string): PodNode {
    let node = this.nodes.get(name);
    if (!node) {
      node = new PodNode(name, this.store);
      this.nodes.set(name, node);
    }
    return node;
  }

  /** Shows and selects a pod's node (after an apply). */
  async reveal(name: string): Promise<void> {
    if (!this.treeView || !this.store.summary(name)) return;
    await this.treeView.reveal(this.nodeFor(name), { select: true, focus: false, expand: false });
  }

  /** The pods, or pod containers, selected in the view (for commands run from the keyboard). */
  selection(): (PodNode | PodContainerNode)[] {
    return (this.treeView?.selection ?? []).filter((node): node is PodNode | PodContainerNode => node instanceof PodNode || node instanceof PodContainerNode);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}

/*
 * The pod's sandbox: the small "pause" container a kubelet makes first, whose only job is to hold
 * the namespaces the pod's containers join — net, ipc and uts (and pid with
 * shareProcessNamespace). One row per namespace type with its inode and the containers whose
 * /proc/<pid>/ns/<type> is that same inode.
 */
import * as vscode from 'vscode';
import { messageNode, RowNode } from '../containers/tree-node';
import { sandboxNamespaceRows } from './model';
import type { PodStore } from './pod-store';
import type { PodsTreeNode } from './tree-node';

export class SandboxNode implements PodsTreeNode {
  constructor(
    readonly parent: PodsTreeNode & { name: string; itemId: string },
    private readonly store: PodStore,
  ) {}

  private get itemId(): string {
    return `${this.parent.itemId}/sandbox`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('Sandbox namespaces', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon('symbol-namespace');
    const details = this.store.cachedDetails(this.parent.name);
    const sandbox = details?.record.sandbox;
    item.description = sandbox ? `${sandbox.name}${sandbox.pid !== null ? ` · PID ${sandbox.pid}` : ''}` : 'no sandbox';
    item.tooltip = "The pod's pause container holds the namespaces its containers join: two processes share a namespace exactly when /proc/<pid>/ns/<type> has the same inode.";
    item.contextValue = 'pod.sandbox';
    return item;
  }

  children(): PodsTreeNode[] {
    const details = this.store.cachedDetails(this.parent.name);
    if (!details?.sandbox) return [messageNode(this, this.itemId, 'the sandbox is not running')];
    return sandboxNamespaceRows(details.sandbox, details.containers).map((row) => new RowNode(this, this.itemId, row));
  }
}

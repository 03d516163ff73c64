/*
 * Namespaces: one row per type, "net: 4026532290". The number is the namespace's inode — what
 * `readlink /proc/<pid>/ns/net` prints as net:[4026532290] — and it is the namespace's identity:
 * two processes share a namespace exactly when these numbers match. A type the container did not
 * get its own of is marked "shared with host".
 */
import * as vscode from 'vscode';
import type { ContainerRecord } from '../../../agent/protocol';
import { namespaceRows } from './model';
import { messageNode, type ContainersTreeNode } from './tree-node';

export class NamespacesNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode & { itemId: string },
    private readonly record: () => Pick<ContainerRecord, 'namespaces' | 'sharedWithHost'> | undefined,
  ) {}

  private get itemId(): string {
    return `${this.parent.itemId}/namespaces`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('Namespaces', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon('symbol-namespace');
    const record = this.record();
    if (record) item.description = `${Object.keys(record.namespaces).length - record.sharedWithHost.length} own, ${record.sharedWithHost.length} shared`;
    item.tooltip = 'Namespace inodes as the kernel reports them in /proc/<pid>/ns/*.';
    return item;
  }

  children(): ContainersTreeNode[] {
    const record = this.record();
    if (!record) return [messageNode(this, this.itemId, 'no record')];
    return namespaceRows(record).map((row) => new NamespaceRowNode(this, this.itemId, row));
  }
}

class NamespaceRowNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode,
    private readonly idPrefix: string,
    private readonly row: ReturnType<typeof namespaceRows>[number],
  ) {}

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.row.label, vscode.TreeItemCollapsibleState.None);
    item.id = `${this.idPrefix}/${this.row.type}`;
    item.description = this.row.description;
    item.tooltip = this.row.inode === null ? `${this.row.type}: not running` : `/proc/<pid>/ns/${this.row.type} → ${this.row.type}:[${this.row.inode}]`;
    item.iconPath = this.row.shared ? new vscode.ThemeIcon('link', new vscode.ThemeColor('charts.orange')) : new vscode.ThemeIcon('symbol-namespace');
    item.contextValue = this.row.shared ? 'namespace.shared' : 'namespace.own';
    return item;
  }

  children(): ContainersTreeNode[] {
    return [];
  }
}

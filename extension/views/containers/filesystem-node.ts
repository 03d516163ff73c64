/*
 * Filesystem: the overlay that is the container's root — read-only lower layers (the busybox
 * image), the writable upper layer where every change lands, overlayfs's work directory, the
 * merged tree that became / by pivot_root — and the mounts the container sees.
 */
import * as vscode from 'vscode';
import type { ContainerRecord } from '../../../agent/protocol';
import { filesystemRows } from './model';
import { RowNode, messageNode, type ContainersTreeNode } from './tree-node';

export class FilesystemNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode & { itemId: string },
    private readonly record: () => ContainerRecord | undefined,
  ) {}

  private get itemId(): string {
    return `${this.parent.itemId}/filesystem`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('Filesystem', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon('layers');
    const record = this.record();
    if (record) item.description = record.rootfs ? `overlay · ${record.mounts.length} mounts` : `${record.mounts.length} mounts`;
    return item;
  }

  children(): ContainersTreeNode[] {
    const record = this.record();
    if (!record) return [messageNode(this, this.itemId, 'no record')];
    return filesystemRows(record).map((row) => new RowNode(this, this.itemId, row));
  }
}

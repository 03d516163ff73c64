/*
 * Files: the container's root filesystem as the container sees it (the merged overlay), browsed
 * from outside through the agent (container.files.list), each entry marked with the layer it
 * comes from. The node itself is the container's /.
 */
import * as vscode from 'vscode';
import type { ContainerStore } from './container-store';
import { FileEntryNode, listChildren } from './file-entry-node';
import type { ContainersTreeNode } from './tree-node';

export class FilesNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode & { itemId: string; id: string },
    private readonly store: ContainerStore,
  ) {}

  private get itemId(): string {
    return `${this.parent.itemId}/files`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('Files', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon('folder-library');
    item.description = '/ (merged view)';
    item.tooltip = 'The container\'s root filesystem: every entry marked with the image layer it comes from, or upper (written in the container).';
    return item;
  }

  children(): Promise<ContainersTreeNode[]> {
    return listChildren(this, this.itemId, this.store, this.parent.id, '/');
  }
}

export { FileEntryNode };

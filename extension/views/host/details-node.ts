/*
 * Details of a container another maker made: the parent chain that holds it (e.g. process_api →
 * containerd-shim-runc-v2 → sleep), its cgroup, what is mounted at its `/`, its OCI bundle and
 * where its maker keeps its state — the rows of ./model.ts's detailRows.
 */
import * as vscode from 'vscode';
import type { HostContainer } from '../../../agent/protocol';
import { RowNode, type ContainersTreeNode } from '../containers/tree-node';
import { detailRows } from './model';

export class DetailsNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode & { itemId: string },
    private readonly container: HostContainer,
  ) {}

  private get itemId(): string {
    return `${this.parent.itemId}/details`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('Details', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon('info');
    return item;
  }

  children(): ContainersTreeNode[] {
    return detailRows(this.container).map((row) => new RowNode(this, this.itemId, row));
  }
}

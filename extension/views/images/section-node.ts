/*
 * A section under an image: "Layers (3)" or "Used by (2)", unfolding into its rows.
 */
import * as vscode from 'vscode';
import type { Row } from '../containers/model';
import { RowNode } from '../containers/tree-node';
import type { ImagesTreeNode } from './tree-node';

export class SectionNode implements ImagesTreeNode {
  constructor(
    readonly parent: ImagesTreeNode,
    private readonly itemId: string,
    private readonly label: string,
    private readonly icon: string,
    private readonly rows: Row[],
    private readonly tooltip?: string,
  ) {}

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.label, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon(this.icon);
    item.contextValue = 'image.section';
    if (this.tooltip) item.tooltip = this.tooltip;
    return item;
  }

  children(): ImagesTreeNode[] {
    return this.rows.map((row) => new RowNode(this, this.itemId, row));
  }
}

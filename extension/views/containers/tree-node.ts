/*
 * The shape every node of the Containers tree has: it makes its own TreeItem and its children.
 * Section nodes (processes, namespaces, …) read the container's current record each time they
 * are asked, so refreshing a container node shows fresh data while VS Code keeps the expansion
 * state (tree item ids are stable: "container:<id>/<section>/<row key>").
 */
import * as vscode from 'vscode';
import type { Row } from './model';

export interface ContainersTreeNode {
  readonly parent: ContainersTreeNode | undefined;
  treeItem(): vscode.TreeItem;
  children(): ContainersTreeNode[] | Promise<ContainersTreeNode[]>;
}

/** A leaf (or small subtree) made from a model Row. */
export class RowNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode,
    private readonly idPrefix: string,
    readonly row: Row,
  ) {}

  treeItem(): vscode.TreeItem {
    const hasChildren = (this.row.children?.length ?? 0) > 0;
    const item = new vscode.TreeItem(this.row.label, hasChildren ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `${this.idPrefix}/${this.row.key}`;
    item.description = this.row.description;
    item.tooltip = this.row.tooltip;
    if (this.row.icon) item.iconPath = new vscode.ThemeIcon(this.row.icon);
    item.contextValue = 'row';
    return item;
  }

  children(): ContainersTreeNode[] {
    return (this.row.children ?? []).map((child) => new RowNode(this, `${this.idPrefix}/${this.row.key}`, child));
  }
}

/** A node that says why a section is empty ("not running", "no processes"). */
export function messageNode(parent: ContainersTreeNode, idPrefix: string, label: string, icon = 'info'): ContainersTreeNode {
  return new RowNode(parent, idPrefix, { key: 'message', label, icon });
}

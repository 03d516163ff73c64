/*
 * Ports: the container's published ports (run -p); a TCP port has an "Open in Browser" action
 * (containersLab.openPort, ../../commands/open-port.ts) that gets the port node itself.
 */
import * as vscode from 'vscode';
import type { ContainerRecord } from '../../../agent/protocol';
import { portRows, portsDescription, type PortRow } from './ports-model';
import { messageNode, type ContainersTreeNode } from './tree-node';

export class PortNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode,
    private readonly idPrefix: string,
    readonly row: PortRow,
  ) {}

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.row.label, vscode.TreeItemCollapsibleState.None);
    item.id = `${this.idPrefix}/${this.row.key}`;
    item.description = this.row.description;
    item.tooltip = this.row.tooltip;
    item.iconPath = new vscode.ThemeIcon(this.row.url ? 'link-external' : 'plug');
    item.contextValue = this.row.contextValue;
    return item;
  }

  children(): ContainersTreeNode[] {
    return [];
  }
}

export class PortsNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode & { itemId: string },
    private readonly record: () => ContainerRecord | undefined,
  ) {}

  private get itemId(): string {
    return `${this.parent.itemId}/ports`;
  }

  treeItem(): vscode.TreeItem {
    const record = this.record();
    const item = new vscode.TreeItem('Ports', record?.ports?.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon('plug');
    item.description = portsDescription(record?.ports);
    return item;
  }

  children(): ContainersTreeNode[] {
    const record = this.record();
    if (!record) return [messageNode(this, this.itemId, 'no record')];
    return portRows(record.ports, record.network.ip).map((row) => new PortNode(this, this.itemId, row));
  }
}

/*
 * Network: the container's end of its veth pair (eth0) with its address, and where the other end
 * is — the host-side veth device and the bridge it is plugged into.
 */
import * as vscode from 'vscode';
import type { ContainerRecord } from '../../../agent/protocol';
import { networkRows } from './model';
import { RowNode, messageNode, type ContainersTreeNode } from './tree-node';

export class NetworkNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode & { itemId: string },
    private readonly record: () => ContainerRecord | undefined,
  ) {}

  private get itemId(): string {
    return `${this.parent.itemId}/network`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('Network', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon('globe');
    const network = this.record()?.network;
    if (network) item.description = network.mode === 'bridge' ? [network.ip, network.bridge].filter(Boolean).join(' on ') : network.mode;
    return item;
  }

  children(): ContainersTreeNode[] {
    const record = this.record();
    if (!record) return [messageNode(this, this.itemId, 'no record')];
    return networkRows(record.network).map((row) => new RowNode(this, this.itemId, row));
  }
}

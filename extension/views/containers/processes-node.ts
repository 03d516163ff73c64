/*
 * Processes: the container's processes as a tree by parent PID. Each shows both of its PIDs —
 * the one inside the container's PID namespace (the first process is PID 1 there) and the
 * host's — which is the PID namespace made visible.
 */
import * as vscode from 'vscode';
import type { ContainerRecord } from '../../../agent/protocol';
import { buildProcessTree, processDescription, processLabel, type ProcessTreeNode } from './model';
import { messageNode, type ContainersTreeNode } from './tree-node';

export class ProcessesNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode & { itemId: string },
    private readonly record: () => Pick<ContainerRecord, 'processes'> | undefined,
  ) {}

  private get itemId(): string {
    return `${this.parent.itemId}/processes`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('Processes', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon('list-tree');
    const count = this.record()?.processes.length;
    item.description = count === undefined ? undefined : `${count}`;
    item.tooltip = 'The container\'s processes by parent PID: PID inside the container\'s PID namespace, and (host PID).';
    return item;
  }

  children(): ContainersTreeNode[] {
    const processes = this.record()?.processes ?? [];
    if (processes.length === 0) return [messageNode(this, this.itemId, 'no processes (not running)')];
    return buildProcessTree(processes).map((node) => new ProcessNode(this, this.itemId, node));
  }
}

class ProcessNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode,
    private readonly idPrefix: string,
    private readonly node: ProcessTreeNode,
  ) {}

  private get itemId(): string {
    return `${this.idPrefix}/${this.node.process.pid}`;
  }

  treeItem(): vscode.TreeItem {
    const { process, children } = this.node;
    const item = new vscode.TreeItem(processLabel(process), children.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = this.itemId;
    item.description = processDescription(process);
    item.tooltip = `host PID ${process.pid}, PID ${process.nspid} in the container, parent ${process.ppid}, state ${process.state}`;
    item.iconPath = new vscode.ThemeIcon(process.nspid === 1 ? 'star-full' : 'symbol-event');
    return item;
  }

  children(): ContainersTreeNode[] {
    return this.node.children.map((child) => new ProcessNode(this, this.itemId, child));
  }
}

/*
 * One container: its name, state icon and IP; unfolded, the five kinds of kernel objects it is
 * made of, its Files (the root filesystem, each entry with its layer) and its published ports. The section nodes are created once per container and kept, so a refresh of this node
 * (after container.changed) re-renders them with the fresh record.
 */
import * as vscode from 'vscode';
import type { ContainerRecord, ContainerSummary } from '../../../agent/protocol';
import type { ContainerStore } from './container-store';
import { CgroupNode } from './cgroup-node';
import { FilesNode } from './files-node';
import { FilesystemNode } from './filesystem-node';
import { containerDescription, containerLabel, containerTooltip, statusIcon } from './model';
import { NamespacesNode } from './namespaces-node';
import { NetworkNode } from './network-node';
import { PortsNode } from './ports-node';
import { ProcessesNode } from './processes-node';
import type { ContainersTreeNode } from './tree-node';

export class ContainerNode implements ContainersTreeNode {
  readonly parent = undefined;
  private readonly sections: ContainersTreeNode[];

  constructor(
    readonly id: string,
    private readonly store: ContainerStore,
  ) {
    const record = (): ContainerRecord | undefined => this.store.record(this.id);
    this.sections = [
      new ProcessesNode(this, record),
      new NamespacesNode(this, record),
      new CgroupNode(this, record),
      new FilesystemNode(this, record),
      new FilesNode(this, this.store),
      new NetworkNode(this, record),
      new PortsNode(this, record),
    ];
  }

  get summary(): ContainerSummary | undefined {
    return this.store.summary(this.id);
  }

  get itemId(): string {
    return `container:${this.id}`;
  }

  treeItem(): vscode.TreeItem {
    const summary = this.summary;
    const item = new vscode.TreeItem(summary ? containerLabel(summary) : this.id, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    if (!summary) return item;
    const { icon, color } = statusIcon(summary.status);
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.description = containerDescription(summary);
    item.tooltip = containerTooltip(summary);
    // "container.running", "container.stopped", …: menus choose their actions by it.
    item.contextValue = `container.${summary.status}`;
    return item;
  }

  async children(): Promise<ContainersTreeNode[]> {
    // The first unfolding fetches the record; later ones use the one notifications keep fresh.
    if (!this.store.record(this.id)) await this.store.inspect(this.id, false);
    return this.sections;
  }
}

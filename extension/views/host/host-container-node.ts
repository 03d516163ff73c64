/*
 * One container of the host, whoever made it: its name, the runtime under it, its first PID and
 * its own namespaces; unfolded, the same Namespaces and Processes sections as the agent's own
 * containers (reused from ../containers/) and its Details (./details-node.ts). Read-only: the
 * view never acts on a container another maker owns.
 */
import * as vscode from 'vscode';
import type { HostContainer } from '../../../agent/protocol';
import { NamespacesNode } from '../containers/namespaces-node';
import { ProcessesNode } from '../containers/processes-node';
import type { ContainersTreeNode } from '../containers/tree-node';
import { DetailsNode } from './details-node';
import { entryDescription, entryLabel, entryTooltip } from './model';

export class HostContainerNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode & { itemId: string },
    readonly container: HostContainer,
  ) {}

  /** Stable while the container lives: its namespaces are its identity. */
  get itemId(): string {
    return `${this.parent.itemId}/${this.container.key}`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(entryLabel(this.container), vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.description = entryDescription(this.container);
    item.tooltip = entryTooltip(this.container);
    item.iconPath = new vscode.ThemeIcon(this.container.status === 'running' ? 'vm-running' : this.container.status === 'paused' ? 'debug-pause' : 'vm');
    item.contextValue = `hostContainer.${this.container.maker}`;
    return item;
  }

  children(): ContainersTreeNode[] {
    const record = (): HostContainer => this.container;
    return [new NamespacesNode(this, record), new ProcessesNode(this, record), new DetailsNode(this, this.container)];
  }
}

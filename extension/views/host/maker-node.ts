/*
 * One maker on the "On This Host" view: Containers Lab, runc, containerd, Docker… with how many
 * containers it has on the host; unfolded, one node per container (./host-container-node.ts).
 */
import * as vscode from 'vscode';
import type { ContainersTreeNode } from '../containers/tree-node';
import { HostContainerNode } from './host-container-node';
import type { MakerGroup } from './model';

export class MakerNode implements ContainersTreeNode {
  readonly parent = undefined;

  constructor(readonly group: MakerGroup) {}

  get itemId(): string {
    return `host:${this.group.maker}`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.group.label, vscode.TreeItemCollapsibleState.Expanded);
    item.id = this.itemId;
    item.description = `${this.group.containers.length}`;
    item.iconPath = new vscode.ThemeIcon(this.group.maker === 'unknown' ? 'question' : 'server-environment');
    item.contextValue = `hostMaker.${this.group.maker}`;
    return item;
  }

  children(): ContainersTreeNode[] {
    return this.group.containers.map((container) => new HostContainerNode(this, container));
  }
}

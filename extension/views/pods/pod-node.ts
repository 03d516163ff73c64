/*
 * One pod: its name, described as `get pods -o wide` would (status, ready, QoS class, IP);
 * unfolded, its containers — init containers first, in order — and the sandbox's namespaces. The
 * details are asked of the agent (pod.get, container.inspect) when the node is first opened.
 */
import * as vscode from 'vscode';
import type { PodSummary } from '../../../agent/protocol';
import { messageNode } from '../containers/tree-node';
import { podContainers, podDescription, podStatusIcon, podTooltip } from './model';
import { PodContainerNode } from './pod-container-node';
import type { PodStore } from './pod-store';
import { SandboxNode } from './sandbox-node';
import type { PodsTreeNode } from './tree-node';

export class PodNode implements PodsTreeNode {
  readonly parent = undefined;

  constructor(
    readonly name: string,
    private readonly store: PodStore,
  ) {}

  get summary(): PodSummary | undefined {
    return this.store.summary(this.name);
  }

  get itemId(): string {
    return `pod:${this.name}`;
  }

  treeItem(): vscode.TreeItem {
    const summary = this.summary;
    const item = new vscode.TreeItem(this.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    // Menus choose Describe Pod / Delete Pod by it.
    item.contextValue = 'pod';
    if (summary) {
      const { icon, color } = podStatusIcon(summary.status);
      item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
      item.description = podDescription(summary);
      item.tooltip = podTooltip(summary);
    }
    return item;
  }

  async children(): Promise<PodsTreeNode[]> {
    const details = this.store.cachedDetails(this.name) ?? (await this.store.fetchDetails(this.name));
    if (!details) return [messageNode(this, this.itemId, 'this pod is gone')];
    return [
      ...podContainers(details.record).map((entry) => new PodContainerNode(this, this.store, entry.kind, entry.status.name)),
      new SandboxNode(this, this.store),
    ];
  }
}

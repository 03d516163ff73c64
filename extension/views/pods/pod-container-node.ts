/*
 * One of a pod's containers (an init container is labelled "init: NAME"): its state, readiness,
 * restart count and the last state a restart left (reason and exit code); unfolded, those as rows
 * with its image, the runtime container standing for it now and its namespaces — each marked as
 * the pod's (the sandbox's inode) or its own.
 */
import * as vscode from 'vscode';
import { RowNode } from '../containers/tree-node';
import { podContainerDescription, podContainerIcon, podContainerLabel, podContainerRows, podContainers, type PodContainerEntry, type PodContainerKind } from './model';
import type { PodStore } from './pod-store';
import type { PodsTreeNode } from './tree-node';

export class PodContainerNode implements PodsTreeNode {
  constructor(
    readonly parent: PodsTreeNode & { name: string; itemId: string },
    private readonly store: PodStore,
    readonly kind: PodContainerKind,
    readonly containerName: string,
  ) {}

  get podName(): string {
    return this.parent.name;
  }

  private get itemId(): string {
    return `${this.parent.itemId}/container:${this.containerName}`;
  }

  /** The container's status in the pod's latest details. */
  get entry(): PodContainerEntry | undefined {
    const details = this.store.cachedDetails(this.podName);
    return details ? podContainers(details.record).find((entry) => entry.status.name === this.containerName) : undefined;
  }

  treeItem(): vscode.TreeItem {
    const entry = this.entry ?? { kind: this.kind, status: undefined };
    const item = new vscode.TreeItem(this.kind === 'init' ? `init: ${this.containerName}` : this.containerName, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    // Menus offer Show Logs by it.
    item.contextValue = 'pod.container';
    if (entry.status) {
      const full = { kind: entry.kind, status: entry.status };
      item.label = podContainerLabel(full);
      item.description = podContainerDescription(full);
      const { icon, color } = podContainerIcon(entry.status);
      item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
      item.tooltip = `${this.kind === 'init' ? 'init container' : 'container'} ${this.containerName} of pod ${this.podName}\nimage: ${entry.status.image}`;
    }
    return item;
  }

  children(): PodsTreeNode[] {
    const details = this.store.cachedDetails(this.podName);
    const entry = this.entry;
    if (!details || !entry) return [];
    return podContainerRows(entry, details.containers.get(this.containerName), details.sandbox).map((row) => new RowNode(this, this.itemId, row));
  }
}

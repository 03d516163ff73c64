/*
 * Cgroup: the limits the kernel enforces on the container and what it uses now. The numbers come
 * from the cgroup's own files (memory.max / memory.current on v2, memory.limit_in_bytes /
 * memory.usage_in_bytes on v1, …); while the container's node is open and visible the view
 * re-inspects that one container every few seconds, so usage is live.
 */
import * as vscode from 'vscode';
import type { ContainerRecord } from '../../../agent/protocol';
import { cgroupRows } from './model';
import { RowNode, type ContainersTreeNode } from './tree-node';

export class CgroupNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode & { itemId: string },
    private readonly record: () => ContainerRecord | undefined,
  ) {}

  private get itemId(): string {
    return `${this.parent.itemId}/cgroup`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('Cgroup', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon('dashboard');
    const cgroup = this.record()?.cgroup;
    if (cgroup) item.description = `v${cgroup.version} ${cgroup.path}`;
    return item;
  }

  children(): ContainersTreeNode[] {
    return cgroupRows(this.record()?.cgroup ?? null).map((row) => new RowNode(this, this.itemId, row));
  }
}

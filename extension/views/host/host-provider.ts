/*
 * The "On This Host" view: every container on the lab host, whoever made it, grouped by maker
 * (host.containers). One read of the host when the view is first shown, on its Refresh button,
 * after a reconnect, and — coalesced, at most one read at a time — after each container.changed
 * or container.removed notification of the agent. While the view is hidden nothing is read.
 */
import * as vscode from 'vscode';
import type { HostContainers } from '../../../agent/protocol';
import type { AgentClient } from '../../../agent/service/client';
import type { ContainersTreeNode } from '../containers/tree-node';
import { MakerNode } from './maker-node';
import { groupByMaker } from './model';

export class HostProvider implements vscode.TreeDataProvider<ContainersTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ContainersTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private found: HostContainers | null = null;
  private stale = true;
  private visible = false;
  private reading: Promise<void> | null = null;
  private readAgain = false;

  constructor(
    private readonly client: () => AgentClient | null,
    private readonly onError: (message: string, error: unknown) => void,
  ) {}

  private treeView: vscode.TreeView<ContainersTreeNode> | undefined;

  attach(treeView: vscode.TreeView<ContainersTreeNode>): void {
    this.treeView = treeView;
    this.visible = treeView.visible;
    this.disposables.push(
      treeView.onDidChangeVisibility(({ visible }) => {
        this.visible = visible;
        if (visible && this.stale) void this.reload();
      }),
    );
  }

  getTreeItem(element: ContainersTreeNode): vscode.TreeItem {
    return element.treeItem();
  }

  getChildren(element?: ContainersTreeNode): ContainersTreeNode[] | Promise<ContainersTreeNode[]> {
    if (element) return element.children();
    if (!this.found) return [];
    return groupByMaker(this.found.containers).map((group) => new MakerNode(group));
  }

  getParent(element: ContainersTreeNode): ContainersTreeNode | undefined {
    return element.parent;
  }

  /** The last answer (for tests and commands). */
  get containers(): HostContainers | null {
    return this.found;
  }

  /** Something changed on the host (a notification, a reconnect): read again if anyone is looking. */
  invalidate(): void {
    this.stale = true;
    if (this.visible) void this.reload();
  }

  clear(): void {
    this.found = null;
    this.stale = true;
    this.changed.fire(undefined);
  }

  /** One read of the host at a time; asked again meanwhile, it reads once more after. */
  reload(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return this.reading;
    }
    const client = this.client();
    if (!client) return Promise.resolve();
    this.stale = false;
    this.reading = client
      .call('host.containers', {}, { timeoutMs: 30_000 })
      .then((found) => {
        this.found = found;
        if (this.treeView) this.treeView.message = found.containers.length === 0 ? 'No containers on this host.' : undefined;
        this.changed.fire(undefined);
      })
      .catch((error: unknown) => {
        this.stale = true;
        this.onError('On This Host: host.containers failed', error);
      })
      .finally(() => {
        this.reading = null;
        if (this.readAgain) {
          this.readAgain = false;
          void this.reload();
        }
      });
    return this.reading;
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}

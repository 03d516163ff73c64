/*
 * The Lab view: which host, the connection's state, and what the agent reports about the host.
 */
import * as vscode from 'vscode';
import type { AgentInfo, ContainerStatus, NodesView } from '../../../agent/protocol';
import type { LabConnection } from '../../connection/types';
import { infoIsStale, labRows, type LabRow } from './model';

export class LabProvider implements vscode.TreeDataProvider<LabRow>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<LabRow | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private detail: string | undefined;
  /** A fresher agent.info than the connection's (after "Refresh"); dropped on every state change. */
  private info: AgentInfo | null = null;
  private refreshing = false;
  private nodes: NodesView | null = null;

  constructor(private readonly connection: LabConnection) {}

  /** The connection's state changed (detail: its message, e.g. why it failed). */
  update(detail: string | undefined): void {
    this.detail = detail;
    this.info = null;
    this.changed.fire(undefined);
  }

  /** This node and its peers (node.list at connect, node.changed after); null when disconnected. */
  setNodes(nodes: NodesView | null): void {
    this.nodes = nodes;
    this.changed.fire(undefined);
  }

  setInfo(info: AgentInfo): void {
    this.info = info;
    this.changed.fire(undefined);
  }

  /** A container.changed: re-read agent.info when it still says the image is not unpacked. */
  containerChanged(status: ContainerStatus, readInfo: () => Promise<AgentInfo>, onError: (error: unknown) => void): void {
    if (this.refreshing || this.connection.state !== 'connected' || !infoIsStale(this.info ?? this.connection.info, status)) return;
    this.refreshing = true;
    readInfo()
      .then((info) => {
        if (this.connection.state === 'connected') this.setInfo(info);
      })
      .catch(onError)
      .finally(() => (this.refreshing = false));
  }

  getTreeItem(row: LabRow): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = `lab:${row.key}`;
    item.description = row.description;
    item.tooltip = row.tooltip ?? `${row.label}: ${row.description}`;
    item.iconPath = new vscode.ThemeIcon(row.icon);
    item.contextValue = `lab.${row.key}`;
    if (row.command) item.command = { command: row.command, title: 'Connect' };
    return item;
  }

  getChildren(row?: LabRow): LabRow[] {
    if (row) return [];
    const { target, state } = this.connection;
    const info = this.info ?? this.connection.info;
    const live = state === 'connected' || state === 'reconnecting';
    return labRows(target, state, this.detail, live ? info : null, live ? this.nodes : null);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

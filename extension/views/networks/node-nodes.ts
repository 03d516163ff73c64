/*
 * The Networks view's Nodes section: this node (its subnet, mode, VXLAN device) and each peer
 * node with the path to it (./nodes-model.ts).
 */
import * as vscode from 'vscode';
import type { NodesView } from '../../../agent/protocol';
import { nodesDescription, peerRows, thisNodeRow, type NodeRow } from './nodes-model';

export class NodesSectionNode {
  readonly parent = undefined;
  constructor(readonly view: NodesView) {}

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('Nodes', vscode.TreeItemCollapsibleState.Expanded);
    item.id = 'nodes';
    item.description = nodesDescription(this.view);
    item.tooltip = 'This node and its peers: containers-lab node ls';
    item.iconPath = new vscode.ThemeIcon('server-environment');
    item.contextValue = 'nodes';
    return item;
  }

  children(): NodeRowNode[] {
    return [thisNodeRow(this.view), ...peerRows(this.view)].map((row) => new NodeRowNode(this, row));
  }
}

export class NodeRowNode {
  constructor(
    readonly parent: NodesSectionNode,
    readonly row: NodeRow,
  ) {}

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.row.label, vscode.TreeItemCollapsibleState.None);
    item.id = `nodes/${this.row.key}`;
    item.description = this.row.description;
    item.tooltip = this.row.tooltip;
    item.iconPath = new vscode.ThemeIcon(this.row.icon);
    item.contextValue = this.row.key === 'this-node' ? 'node.self' : 'node.peer';
    return item;
  }

  children(): NodeRowNode[] {
    return [];
  }
}

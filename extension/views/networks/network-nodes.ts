/*
 * The three kinds of node in the Networks view: a bridge (the host's software switch), a veth
 * device plugged into it (the host end of a pair), and the pair's other end inside a container.
 */
import * as vscode from 'vscode';
import { addressText, bridgeDescription, peerDescription, portDescription, type BridgeModel, type ContainerEnd, type VethPort } from './model';

export type NetworksTreeNode = BridgeNode | PortNode | PeerNode;

export class BridgeNode {
  readonly parent = undefined;
  constructor(readonly bridge: BridgeModel) {}

  get itemId(): string {
    return `bridge:${this.bridge.netns}/${this.bridge.name}`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.bridge.name, this.bridge.ports.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = this.itemId;
    item.description = bridgeDescription(this.bridge);
    item.tooltip = `bridge ${this.bridge.name} (ifindex ${this.bridge.ifindex}, ${this.bridge.mac ?? 'no MAC'})\naddress: ${addressText(this.bridge.addresses)} — the containers' gateway`;
    item.iconPath = new vscode.ThemeIcon('type-hierarchy-sub');
    item.contextValue = 'bridge';
    return item;
  }

  children(): NetworksTreeNode[] {
    return this.bridge.ports.map((port) => new PortNode(this, port));
  }
}

export class PortNode {
  constructor(
    readonly parent: BridgeNode,
    readonly port: VethPort,
  ) {}

  get itemId(): string {
    return `${this.parent.itemId}/${this.port.name}`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.port.name, this.port.peer ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = this.itemId;
    item.description = portDescription(this.port);
    item.tooltip = `host end of a veth pair (ifindex ${this.port.ifindex}, ${this.port.mac ?? 'no MAC'}), plugged into ${this.parent.bridge.name}`;
    item.iconPath = new vscode.ThemeIcon('plug');
    item.contextValue = 'veth';
    return item;
  }

  children(): NetworksTreeNode[] {
    return this.port.peer ? [new PeerNode(this, this.port.peer)] : [];
  }
}

export class PeerNode {
  constructor(
    readonly parent: PortNode,
    readonly peer: ContainerEnd,
  ) {}

  treeItem(): vscode.TreeItem {
    const label = this.peer.container ? `${this.peer.container}: ${this.peer.name}` : this.peer.name;
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.id = `${this.parent.itemId}/peer`;
    item.description = peerDescription(this.peer);
    item.tooltip = `container end of the pair: ${this.peer.name} (ifindex ${this.peer.ifindex}${this.peer.netns !== null ? `, netns ${this.peer.netns}` : ''}, ${this.peer.mac ?? 'no MAC'})`;
    item.iconPath = new vscode.ThemeIcon('vm');
    item.contextValue = this.peer.container ? 'peer.container' : 'peer';
    return item;
  }

  children(): NetworksTreeNode[] {
    return [];
  }
}

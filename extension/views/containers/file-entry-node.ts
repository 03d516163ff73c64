/*
 * One entry of a container's root filesystem under the Files node: a directory unfolds (asking
 * the agent for its merged listing), a file opens read-only in an editor on click and can be
 * downloaded; a name hidden by a whiteout or an opaque directory is shown as such.
 */
import * as vscode from 'vscode';
import type { ContainerFileEntry } from '../../../agent/protocol';
import type { ContainerStore } from './container-store';
import { CONTAINER_FILE_SCHEME, directorySummary, fileDescription, fileIcon, fileLabel, fileTooltip, hiddenDescription } from './files-model';
import { RowNode, messageNode, type ContainersTreeNode } from './tree-node';

/** The read-only URI of a file in a container (served by extension/commands/container-files.ts). */
export function containerFileUri(containerId: string, path: string): vscode.Uri {
  return vscode.Uri.from({ scheme: CONTAINER_FILE_SCHEME, authority: containerId, path });
}

export class FileEntryNode implements ContainersTreeNode {
  constructor(
    readonly parent: ContainersTreeNode,
    private readonly idPrefix: string,
    private readonly store: ContainerStore,
    readonly containerId: string,
    readonly entry: ContainerFileEntry,
  ) {}

  get path(): string {
    return this.entry.path;
  }

  private get itemId(): string {
    return `${this.idPrefix}/${this.entry.name}`;
  }

  treeItem(): vscode.TreeItem {
    const folder = this.entry.type === 'directory';
    const item = new vscode.TreeItem(fileLabel(this.entry), folder ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon(fileIcon(this.entry));
    item.description = fileDescription(this.entry);
    item.tooltip = fileTooltip(this.entry);
    // "containerFile.file" gets Open and Download; a symlink may lead to a file too.
    item.contextValue = `containerFile.${this.entry.type}`;
    if (this.entry.type === 'file' || this.entry.type === 'symlink') {
      item.resourceUri = containerFileUri(this.containerId, this.entry.path);
      if (this.entry.type === 'file') item.command = { command: 'containersLab.openContainerFile', title: 'Open File', arguments: [this] };
    }
    return item;
  }

  children(): Promise<ContainersTreeNode[]> {
    return listChildren(this, this.itemId, this.store, this.containerId, this.entry.path);
  }
}

/** The merged listing of `path`: one node per entry, then the names hidden there. */
export async function listChildren(parent: ContainersTreeNode, idPrefix: string, store: ContainerStore, containerId: string, path: string): Promise<ContainersTreeNode[]> {
  const client = store.client();
  if (!client) return [messageNode(parent, idPrefix, 'not connected')];
  try {
    const directory = await client.call('container.files.list', { id: containerId, path });
    const nodes: ContainersTreeNode[] = directory.entries.map((entry) => new FileEntryNode(parent, idPrefix, store, containerId, entry));
    for (const hidden of directory.hidden) {
      nodes.push(new RowNode(parent, `${idPrefix}/hidden`, { key: hidden.name, label: hidden.name, description: hiddenDescription(hidden), icon: 'circle-slash', tooltip: `${hidden.path}: some layer below has it; the merged view does not show it` }));
    }
    if (nodes.length === 0) nodes.push(messageNode(parent, idPrefix, `empty · ${directorySummary(directory)}`));
    return nodes;
  } catch (error) {
    return [messageNode(parent, idPrefix, error instanceof Error ? error.message : String(error), 'warning')];
  }
}

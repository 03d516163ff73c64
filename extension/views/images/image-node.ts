/*
 * One image: repository:tag, the digest its name resolved to and its size; unfolded, its layers
 * (base first, with size and build step) and the containers standing on them. The details are
 * asked of the agent (image.inspect) when the node is first opened.
 */
import * as vscode from 'vscode';
import type { ImageListEntry } from '../../../agent/protocol';
import type { ImageStore } from './image-store';
import { imageDescription, imageLabel, imageTooltip, layerRows, usedByRows } from './model';
import { SectionNode } from './section-node';
import type { ImagesTreeNode } from './tree-node';

export class ImageNode implements ImagesTreeNode {
  readonly parent = undefined;

  constructor(
    readonly name: string,
    private readonly store: ImageStore,
  ) {}

  get entry(): ImageListEntry | undefined {
    return this.store.list().find((image) => image.name === this.name);
  }

  get itemId(): string {
    return `image:${this.name}`;
  }

  treeItem(): vscode.TreeItem {
    const entry = this.entry;
    const item = new vscode.TreeItem(entry ? imageLabel(entry) : this.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.iconPath = new vscode.ThemeIcon('package');
    // Menus choose Run Image / Remove Image by it.
    item.contextValue = 'image';
    if (entry) {
      item.description = imageDescription(entry);
      item.tooltip = imageTooltip(entry);
    }
    return item;
  }

  async children(): Promise<ImagesTreeNode[]> {
    const details = this.store.cachedDetails(this.name) ?? (await this.store.inspect(this.name));
    if (!details) return [];
    return [
      new SectionNode(this, `${this.itemId}/layers`, `Layers (${details.layers.length})`, 'layers', layerRows(details.layers),
        'Base first, as the manifest lists them: each an overlay lower directory of every container of this image.'),
      new SectionNode(this, `${this.itemId}/containers`, `Used by (${details.containers.length})`, 'vm', usedByRows(details)),
    ];
  }
}

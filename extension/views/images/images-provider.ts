/*
 * The Images view: one node per image name, kept per name so a refresh keeps the tree's
 * expansion. Updates come from the store, which follows the agent's image.changed notifications
 * (a pull, an import, a removal — from VS Code or the CLI alike) and container changes.
 */
import * as vscode from 'vscode';
import { ImageNode } from './image-node';
import type { ImageStore } from './image-store';
import { sortImages } from './model';
import type { ImagesTreeNode } from './tree-node';

export class ImagesProvider implements vscode.TreeDataProvider<ImagesTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ImagesTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly nodes = new Map<string, ImageNode>();
  private readonly disposables: vscode.Disposable[] = [];
  private treeView: vscode.TreeView<ImagesTreeNode> | undefined;

  constructor(private readonly store: ImageStore) {
    const unsubscribe = store.onDidChange(() => {
      for (const name of this.nodes.keys()) if (!store.list().some((image) => image.name === name)) this.nodes.delete(name);
      this.changed.fire(undefined);
    });
    this.disposables.push({ dispose: unsubscribe }, this.changed);
  }

  attach(treeView: vscode.TreeView<ImagesTreeNode>): void {
    this.treeView = treeView;
  }

  getTreeItem(element: ImagesTreeNode): vscode.TreeItem {
    return element.treeItem();
  }

  getChildren(element?: ImagesTreeNode): ImagesTreeNode[] | Promise<ImagesTreeNode[]> {
    if (element) return element.children();
    return sortImages(this.store.list()).map((image) => this.nodeFor(image.name));
  }

  getParent(element: ImagesTreeNode): ImagesTreeNode | undefined {
    return element.parent;
  }

  nodeFor(name: string): ImageNode {
    let node = this.nodes.get(name);
    if (!node) {
      node = new ImageNode(name, this.store);
      this.nodes.set(name, node);
    }
    return node;
  }

  /** Shows and selects an image's node (after a pull). */
  async reveal(name: string): Promise<void> {
    if (!this.treeView || !this.store.list().some((image) => image.name === name)) return;
    await this.treeView.reveal(this.nodeFor(name), { select: true, focus: false, expand: false });
  }

  /** The images selected in the view (for commands run from the keyboard). */
  selection(): ImageNode[] {
    return (this.treeView?.selection ?? []).filter((node): node is ImageNode => node instanceof ImageNode);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}

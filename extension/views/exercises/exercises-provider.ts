/*
 * The Exercises view: the learning path and the CKA domains, each unfolding into its labs with
 * their progress. The tree is rebuilt from the store's list whenever it changes — after a start,
 * check, reset or stop, and on (re)connect; section ids are stable, so VS Code keeps what the
 * learner had unfolded.
 */
import * as vscode from 'vscode';
import type { ExerciseStore } from './exercise-store';
import { ExerciseNode } from './exercise-node';
import { groupLabs } from './model';
import { SectionNode } from './section-node';
import type { ExercisesTreeNode } from './tree-node';

export class ExercisesProvider implements vscode.TreeDataProvider<ExercisesTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ExercisesTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private treeView: vscode.TreeView<ExercisesTreeNode> | undefined;

  constructor(
    private readonly store: ExerciseStore,
    private readonly lastOpened: () => string | undefined,
  ) {
    const unsubscribe = store.onDidChange((event) => {
      if (event.kind === 'list') this.changed.fire(undefined);
    });
    this.disposables.push({ dispose: unsubscribe });
  }

  attach(treeView: vscode.TreeView<ExercisesTreeNode>): void {
    this.treeView = treeView;
  }

  /** The last-opened mark moved. */
  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(element: ExercisesTreeNode): vscode.TreeItem {
    return element.treeItem();
  }

  getChildren(element?: ExercisesTreeNode): ExercisesTreeNode[] {
    if (element) return element.children();
    return this.sections();
  }

  getParent(element: ExercisesTreeNode): ExercisesTreeNode | undefined {
    return element.parent;
  }

  /** Shows and selects a lab's node (when its panel opens). */
  async reveal(id: string): Promise<void> {
    if (!this.treeView?.visible) return;
    for (const section of this.sections()) {
      const node = section.children().find((child) => child.id === id);
      if (node) {
        await this.treeView.reveal(node, { select: true, focus: false, expand: true });
        return;
      }
    }
  }

  /** The lab selected in the view (for commands run from the view's title or keyboard). */
  selection(): ExerciseNode | undefined {
    return this.treeView?.selection.find((node): node is ExerciseNode => node instanceof ExerciseNode);
  }

  private sections(): SectionNode[] {
    return groupLabs(this.store.list()).map((section) => new SectionNode(section, this.lastOpened));
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}

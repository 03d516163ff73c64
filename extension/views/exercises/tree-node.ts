/*
 * The two kinds of node in the Exercises view — a section (the learning path, or one CKA domain)
 * and a lab — share this shape: each makes its own TreeItem and knows its parent (for reveal).
 */
import type * as vscode from 'vscode';

export interface ExercisesTreeNode {
  readonly parent: ExercisesTreeNode | undefined;
  treeItem(): vscode.TreeItem;
  children(): ExercisesTreeNode[];
}

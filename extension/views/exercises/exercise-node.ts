/*
 * One lab in the Exercises view: ✓ / ✗ / ○ as a themed icon, "best/max" beside it, difficulty and
 * time limit in the tooltip. Clicking it opens the exercise's panel.
 */
import * as vscode from 'vscode';
import type { LabSummary } from '../../../agent/protocol';
import { exerciseDescription, exerciseStatus, exerciseTooltip, statusLook } from './model';
import type { ExercisesTreeNode } from './tree-node';

export class ExerciseNode implements ExercisesTreeNode {
  constructor(
    readonly parent: ExercisesTreeNode & { itemId: string },
    readonly summary: LabSummary,
    private readonly isLastOpened: boolean,
  ) {}

  get id(): string {
    return this.summary.id;
  }

  treeItem(): vscode.TreeItem {
    const status = exerciseStatus(this.summary.progress);
    const look = statusLook(status);
    const item = new vscode.TreeItem(this.summary.title, vscode.TreeItemCollapsibleState.None);
    // The id is the lab's alone: a lab sits in exactly one section, and reveal() finds it by id.
    item.id = `exercise:${this.summary.id}`;
    item.iconPath = new vscode.ThemeIcon(look.icon, look.color ? new vscode.ThemeColor(look.color) : undefined);
    item.description = `${exerciseDescription(this.summary)}${this.isLastOpened ? ' · last opened' : ''}`;
    item.tooltip = exerciseTooltip(this.summary);
    // Screen readers (and the e2e test) read the status as words, not only as an icon.
    item.accessibilityInformation = { label: `${this.summary.title}, ${look.label}, score ${exerciseDescription(this.summary)}`, role: 'treeitem' };
    // "exercise.completed.started", "exercise.tried.stopped", …: menus choose their actions by it.
    item.contextValue = `exercise.${status}.${this.summary.progress.startedAt ? 'started' : 'stopped'}`;
    item.command = { command: 'containersLab.openExercise', title: 'Open Exercise', arguments: [this.summary.id] };
    return item;
  }

  children(): ExercisesTreeNode[] {
    return [];
  }
}

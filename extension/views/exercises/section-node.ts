/*
 * A section of the Exercises view: the learning path (levels, "a process" to "a pod", in order)
 * or one CKA curriculum domain with its exercises. Its description counts the completed ones.
 */
import * as vscode from 'vscode';
import type { LabSummary } from '../../../agent/protocol';
import { ExerciseNode } from './exercise-node';
import { sectionDescription, type ExerciseSection } from './model';
import type { ExercisesTreeNode } from './tree-node';

export class SectionNode implements ExercisesTreeNode {
  readonly parent = undefined;

  constructor(
    readonly section: ExerciseSection,
    private readonly lastOpened: () => string | undefined,
  ) {}

  get itemId(): string {
    return `exercises:${this.section.key}`;
  }

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.section.label, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.itemId;
    item.description = sectionDescription(this.section);
    item.iconPath = new vscode.ThemeIcon(this.section.domain === null ? 'mortar-board' : 'book');
    item.tooltip = this.section.domain === null ? 'The learning path: from "a container is a process" to "a pod", one kernel object at a time.' : `CKA domain: ${this.section.domain}`;
    item.contextValue = 'exerciseSection';
    return item;
  }

  children(): ExerciseNode[] {
    return this.section.labs.map((lab: LabSummary) => new ExerciseNode(this, lab, lab.id === this.lastOpened()));
  }
}

/*
 * Which container a command is about: the tree node it was run on, an id or name passed by a
 * caller (tests, other commands), the view's selection, or — from the command palette — a quick
 * pick of the containers that fit.
 */
import * as vscode from 'vscode';
import type { ContainerSummary } from '../../agent/protocol';
import type { Lab } from '../lab';
import { ContainerNode } from '../views/containers/container-node';
import { containerDescription } from '../views/containers/model';
import { Cancelled } from './cancelled';

export interface ContainerQuery {
  /** Only containers this accepts are offered. */
  filter?: (summary: ContainerSummary) => boolean;
  placeHolder: string;
  /** Nothing to offer: this message. */
  none: string;
  /** With exactly one candidate, take it without asking. */
  takeSingle?: boolean;
}

export async function resolveContainer(lab: Lab, argument: unknown, query: ContainerQuery): Promise<ContainerSummary> {
  if (argument instanceof ContainerNode) {
    const summary = argument.summary;
    if (!summary) throw new Error('That container no longer exists.');
    return summary;
  }
  if (typeof argument === 'string' || (typeof argument === 'object' && argument !== null && typeof (argument as { id?: unknown }).id === 'string')) {
    const key = typeof argument === 'string' ? argument : (argument as { id: string }).id;
    const summary = lab.store.find(key);
    if (!summary) throw new Error(`No container "${key}".`);
    return summary;
  }
  const candidates = lab.store.list().filter(query.filter ?? (() => true));
  if (candidates.length === 0) throw new Error(query.none);
  if (candidates.length === 1 && query.takeSingle) return candidates[0]!;
  const picked = await vscode.window.showQuickPick(
    candidates.map((summary) => ({ label: summary.name, description: containerDescription(summary), detail: summary.id, summary })),
    { placeHolder: query.placeHolder },
  );
  if (!picked) throw new Cancelled();
  return picked.summary;
}

export const isRunning = (summary: ContainerSummary): boolean => summary.status === 'running';

/*
 * Check "namespaces": which namespaces two processes share. Two processes are in the same
 * namespace exactly when /proc/<pid>/ns/<type> of both name the same inode — that is all
 * "sharing a namespace" means to the kernel. "host" stands for the agent's own namespaces.
 */
import { statSync } from 'node:fs';
import type { NamespaceType } from '../../protocol';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf, running } from './outcome';

export function namespaceInode(pid: number | 'self', type: NamespaceType): number {
  return statSync(`/proc/${pid}/ns/${type}`).ino;
}

export function checkNamespaces(params: CheckParamsByKind['namespaces'], context: LabContext): void {
  const mine = running(context, params.container).pid;
  const other = params.other === undefined || params.other === 'host' ? 'self' : running(context, params.other).pid;
  const otherName = other === 'self' ? 'the host' : `"${params.other}"`;
  const wrong: string[] = [];
  for (const type of params.shared ?? []) {
    if (namespaceInode(mine, type) !== namespaceInode(other, type)) wrong.push(`${type} is not shared with ${otherName}`);
  }
  for (const type of params.separate ?? []) {
    if (namespaceInode(mine, type) === namespaceInode(other, type)) wrong.push(`${type} is shared with ${otherName}`);
  }
  failIf(wrong.length > 0, wrong.join('; '));
}

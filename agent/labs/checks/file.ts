/*
 * Check "file": a file on the lab host (an answer in {{workdir}}) or inside a container. A file
 * in a container is read through /proc/<pid>/root — the kernel's handle on that process's root
 * directory, which follows its pivot_root and mount namespace — or, for a stopped container,
 * from its overlay's merged view when still mounted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, existing, failIf } from './outcome';
import { answerFact, sameAnswer } from './facts';

function hostPathOf(params: CheckParamsByKind['file'], context: LabContext): string {
  const path = params.path;
  if (!params.container) return path;
  const record = existing(context, params.container);
  if (record.pid !== null) return join(`/proc/${record.pid}/root`, path);
  if (record.rootfs) return join(record.rootfs.merged, path);
  throw new CheckFailed(`cannot reach the files of "${params.container}"`);
}

export async function checkFile(params: CheckParamsByKind['file'], context: LabContext): Promise<void> {
  const where = params.container ? `${params.path} in "${params.container}"` : params.path;
  let text: string | null;
  try {
    text = readFileSync(hostPathOf(params, context), 'utf8');
  } catch {
    text = null;
  }
  if (params.exists === false) {
    failIf(text !== null, `${where} exists`);
    return;
  }
  failIf(text === null, `${where} does not exist`);
  const content = text!;
  const fold = (value: string): string => (params.ignoreCase ? value.toLowerCase() : value);
  if (params.equals !== undefined) failIf(fold(content.trim()) !== fold(params.equals.trim()), `${where} holds "${excerpt(content)}"`);
  if (params.contains !== undefined) failIf(!fold(content).includes(fold(params.contains)), `${where} holds "${excerpt(content)}"`);
  if (params.matches !== undefined) failIf(!new RegExp(params.matches, params.ignoreCase ? 'i' : '').test(content), `${where} holds "${excerpt(content)}"`);
  if (params.equalsFact !== undefined) {
    const expected = await answerFact(params.equalsFact, context);
    failIf(!sameAnswer(content, expected), `${where} holds "${excerpt(content)}", which is not the right answer`);
  }
}

function excerpt(text: string): string {
  const line = text.trim().replace(/\s+/g, ' ');
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}

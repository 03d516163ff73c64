/*
 * How a check reports. A check either returns normally (passed) or throws CheckFailed with what
 * it found instead — "found memory.max = max" — which the report appends to the lab's own
 * message, so a failure always names both what is expected and what the kernel shows.
 */
import type { ContainerRecord } from '../../protocol';
import { findContainer, type LabContext } from '../context';

export class CheckFailed extends Error {
  constructor(readonly found: string) {
    super(found);
    this.name = 'CheckFailed';
  }
}

export function failIf(condition: boolean, found: string): void {
  if (condition) throw new CheckFailed(found);
}

/** The container's record, or a failure saying it does not exist. */
export function existing(context: LabContext, name: string): ContainerRecord {
  const record = findContainer(context, name);
  if (!record) throw new CheckFailed(`no container named "${name}"`);
  return record;
}

/** The record of a container whose process is alive, with its host PID. */
export function running(context: LabContext, name: string): ContainerRecord & { pid: number } {
  const record = existing(context, name);
  if (record.status !== 'running' || record.pid === null) throw new CheckFailed(`container "${name}" is ${record.status}, not running`);
  return record as ContainerRecord & { pid: number };
}

/** One "Key:\tvalue" line of /proc/<pid>/status. */
export function statusField(status: string, key: string): string | null {
  return new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? null;
}

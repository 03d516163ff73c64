/*
 * One attempt at a lab: everything that exists from `lab start` until the attempt ends (stop,
 * reset, or its time running out). It is kept in the state root beside the lab's progress, so any
 * agent process — the service, or the CLI on its own — continues the same attempt:
 *
 *   token       a random word: answers that must be found cannot be guessed, and it names the attempt
 *   deadline    startedAt + the lab's time limit: after it the attempt ends with the score it had
 *   networks    the bridges and subnets borrowed from the pool (./networks.ts)
 *   made        who the setup's containers are — id and the start time of their first process — so a
 *               check can tell "repaired" from "removed and made again" (kind `unchanged`)
 *   byReference the reference solution (or an example answer) ran: checks no longer measure the learner
 */
import { readFileSync } from 'node:fs';
import type { ContainerRecord } from '../protocol';
import type { LabNetwork } from './template';

export interface ContainerIdentity {
  id: string;
  pid: number | null;
  /** Field 22 of /proc/PID/stat: when the process started, in clock ticks after boot. A PID may be reused; this pair may not. */
  startTime: number | null;
}

export interface LabAttempt {
  token: string;
  startedAt: string;
  deadline: string;
  networks: Record<string, LabNetwork>;
  made: Record<string, ContainerIdentity>;
  /** The node's hostname when the attempt started (a task may forbid changing it). */
  nodeHostname: string;
  byReference: boolean;
  /** The score of the last check made before the deadline: what counts when nobody watched the clock run out. */
  lastInTimeScore: number | null;
}

/** When the process started (ticks after boot), or null when it is gone. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command (field 2) is in parentheses and may hold spaces: count fields after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return null;
  }
}

export function identityOf(record: ContainerRecord): ContainerIdentity {
  return { id: record.id, pid: record.pid, startTime: record.pid === null ? null : processStartTime(record.pid) };
}

export function nodeHostname(): string {
  return readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
}

/*
 * Lab state kept across sessions, in <state root>/labs/state.json: each lab's progress (scores,
 * whether the learner completed it, how its last attempt ended) and the running attempt, if any
 * (./attempt.ts). Written whole to a temporary file and renamed over the old one, so a crash never
 * leaves half a file — and another agent reading it (a network reservation's owner check) sees a
 * whole attempt or none.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabProgress } from '../protocol/labs';
import type { LabAttempt } from './attempt';

export interface LabRecord {
  progress: LabProgress;
  /** Set while started. */
  attempt: LabAttempt | null;
}

interface StateFile {
  labs: Record<string, LabRecord>;
}

export function emptyProgress(max: number): LabProgress {
  return { startedAt: null, deadline: null, lastScore: null, bestScore: null, max, completed: false, solvedByReference: false, attempts: 0, lastEnded: null };
}

export class LabStateStore {
  private readonly file: string;

  constructor(readonly directory: string) {
    this.file = join(directory, 'state.json');
  }

  private read(): StateFile {
    try {
      const value = JSON.parse(readFileSync(this.file, 'utf8')) as StateFile;
      return value && typeof value.labs === 'object' ? value : { labs: {} };
    } catch {
      return { labs: {} };
    }
  }

  get(id: string, max: number): LabRecord {
    const record = this.read().labs[id];
    // Fields added since a record was written read as their defaults.
    return { attempt: record?.attempt ?? null, progress: { ...emptyProgress(max), ...record?.progress, max } };
  }

  /** Every lab with an attempt under way. */
  started(): { id: string; attempt: LabAttempt }[] {
    return Object.entries(this.read().labs).flatMap(([id, record]) => (record.attempt ? [{ id, attempt: record.attempt }] : []));
  }

  update(id: string, max: number, change: (record: LabRecord) => void): LabRecord {
    const state = this.read();
    const record = this.get(id, max);
    change(record);
    state.labs[id] = record;
    mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(temporary, this.file);
    return record;
  }
}

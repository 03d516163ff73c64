/*
 * Lab state kept across sessions, in <state root>/labs/state.json: which labs are started (with
 * their token) and each lab's progress — last and best score, whether it was completed. Written
 * whole to a temporary file and renamed over the old one, so a crash never leaves half a file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabProgress } from '../protocol/labs';

export interface LabRecord {
  progress: LabProgress;
  /** Set while started. */
  token: string | null;
}

interface StateFile {
  labs: Record<string, LabRecord>;
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
    return this.read().labs[id] ?? {
      token: null,
      progress: { startedAt: null, lastScore: null, bestScore: null, max, completed: false, attempts: 0 },
    };
  }

  update(id: string, max: number, change: (record: LabRecord) => void): LabRecord {
    const state = this.read();
    const record = state.labs[id] ?? this.get(id, max);
    record.progress.max = max;
    change(record);
    state.labs[id] = record;
    mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(temporary, this.file);
    return record;
  }
}

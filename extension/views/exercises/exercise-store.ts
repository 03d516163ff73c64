/*
 * What the extension knows about the labs, and the one place that asks the agent to act on them.
 * The list (lab.list, with each lab's progress) is read on connect and re-read after every start,
 * check, reset and stop, because those change progress; the agent sends no lab notifications.
 * The Exercises view and every exercise panel listen here, so a Check run from the palette also
 * turns the panel's results and the tree's icon green. No 'vscode' here.
 */
import type { LabCheckReport, LabDetail, LabSolutionText, LabStarted, LabSummary } from '../../../agent/protocol';
import type { AgentClient } from '../../../agent/service/client';

/** A setup or a check can run containers and pings: allow them time, but not forever. */
const LAB_ACTION_TIMEOUT_MS = 180_000;

export type ExerciseEvent =
  | { kind: 'list' }
  | { kind: 'started'; id: string; started: LabStarted }
  | { kind: 'checked'; id: string; report: LabCheckReport }
  | { kind: 'stopped'; id: string }
  | { kind: 'solution'; id: string; solution: LabSolutionText };

export class ExerciseStore {
  private labs = new Map<string, LabSummary>();
  /** What each start made (its containers), for "Open Terminal"; known only for starts this window saw. */
  private readonly starts = new Map<string, LabStarted>();
  private readonly listeners = new Set<(event: ExerciseEvent) => void>();
  /** Bumped by clear(): a list that arrives for an older connection is dropped. */
  private generation = 0;

  constructor(private readonly client: () => AgentClient) {}

  onDidChange(listener: (event: ExerciseEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): LabSummary[] {
    return [...this.labs.values()];
  }

  summary(id: string): LabSummary | undefined {
    return this.labs.get(id);
  }

  started(id: string): LabStarted | undefined {
    return this.starts.get(id);
  }

  get loaded(): boolean {
    return this.labs.size > 0;
  }

  async load(): Promise<LabSummary[]> {
    const generation = this.generation;
    const labs = await this.client().call('lab.list', {}, { timeoutMs: 30_000 });
    if (generation === this.generation) {
      this.labs = new Map(labs.map((lab) => [lab.id, lab]));
      this.emit({ kind: 'list' });
    }
    return labs;
  }

  show(id: string): Promise<LabDetail> {
    return this.client().call('lab.show', { id }, { timeoutMs: 30_000 });
  }

  async start(id: string): Promise<LabStarted> {
    const started = await this.client().call('lab.start', { id }, { timeoutMs: LAB_ACTION_TIMEOUT_MS });
    this.starts.set(id, started);
    this.emit({ kind: 'started', id, started });
    await this.reload();
    return started;
  }

  /** Teardown, then the setup again: a fresh scenario (progress is kept). */
  async reset(id: string): Promise<LabStarted> {
    const started = await this.client().call('lab.reset', { id }, { timeoutMs: LAB_ACTION_TIMEOUT_MS });
    this.starts.set(id, started);
    this.emit({ kind: 'started', id, started });
    await this.reload();
    return started;
  }

  async check(id: string): Promise<LabCheckReport> {
    const report = await this.client().call('lab.check', { id }, { timeoutMs: LAB_ACTION_TIMEOUT_MS });
    this.emit({ kind: 'checked', id, report });
    await this.reload();
    return report;
  }

  async stop(id: string): Promise<void> {
    await this.client().call('lab.stop', { id }, { timeoutMs: LAB_ACTION_TIMEOUT_MS });
    this.starts.delete(id);
    this.emit({ kind: 'stopped', id });
    await this.reload();
  }

  /**
   * The reference solution, only "after trying": once the learner has checked at least once. The
   * rule is the extension's (the agent serves the solution to anyone who asks on purpose); the
   * attempts count it reads is the agent's, so it holds across sessions.
   */
  async solution(id: string): Promise<LabSolutionText> {
    const summary = this.labs.get(id) ?? (await this.load()).find((lab) => lab.id === id);
    if (!summary) throw new Error(`No exercise "${id}".`);
    if (summary.progress.attempts === 0) throw new Error(`Try "${summary.title}" first: the solution opens after your first Check.`);
    const solution = await this.client().call('lab.solution', { id }, { timeoutMs: 30_000 });
    this.emit({ kind: 'solution', id, solution });
    return solution;
  }

  /** Disconnected: nothing is known any more. */
  clear(): void {
    this.generation++;
    this.starts.clear();
    if (this.labs.size === 0) return;
    this.labs.clear();
    this.emit({ kind: 'list' });
  }

  /** Progress changed on the agent: read the list again (a failure here must not hide the action's result). */
  private async reload(): Promise<void> {
    await this.load().catch(() => undefined);
  }

  private emit(event: ExerciseEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}

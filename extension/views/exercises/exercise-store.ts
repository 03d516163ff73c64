/*
 * What the extension knows about the labs, and the one place that asks the agent to act on them.
 * The list (lab.list, with each lab's progress) is read on connect and re-read after every start,
 * check, reset and stop, because those change progress. One change happens without anyone asking:
 * the agent service ends an attempt when its time limit is reached (scores it, removes its
 * containers) and says so with the notification `lab.changed`; the store listens to it on the
 * client of the current connection, so the tree and the panel learn of it at once.
 * The Exercises view and every exercise panel listen here, so a Check run from the palette also
 * turns the panel's results and the tree's icon green. No 'vscode' here.
 */
import type { AgentNotifications, LabCheckReport, LabDetail, LabProgress, LabSolutionText, LabStarted, LabSummary } from '../../../agent/protocol';
import type { AgentClient } from '../../../agent/service/client';

/** A setup or a check can run containers and pings: allow them time, but not forever. */
const LAB_ACTION_TIMEOUT_MS = 180_000;

export type ExerciseEvent =
  | { kind: 'list' }
  | { kind: 'started'; id: string; started: LabStarted }
  | { kind: 'checked'; id: string; report: LabCheckReport }
  | { kind: 'stopped'; id: string }
  | { kind: 'solution'; id: string; solution: LabSolutionText }
  /** The agent ended an attempt at its deadline (progress.lastEnded is the time-up; no attempt runs). */
  | { kind: 'ended'; id: string; progress: LabProgress };

export class ExerciseStore {
  private labs = new Map<string, LabSummary>();
  /** What each start made (its containers), for "Open Terminal"; known only for starts this window saw. */
  private readonly starts = new Map<string, LabStarted>();
  private readonly listeners = new Set<(event: ExerciseEvent) => void>();
  /** Bumped by clear(): a list that arrives for an older connection is dropped. */
  private generation = 0;
  /** The client whose lab.changed this store listens to (the current connection's), and how to stop. */
  private listening: { client: AgentClient; off: () => void } | null = null;

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
    const client = this.client();
    // Listen before reading: a time-up between the list and the subscription would be missed.
    this.listen(client);
    const labs = await client.call('lab.list', {}, { timeoutMs: 30_000 });
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
    // The reference solution already ran for this lab (lab solve): its steps are no secret any more.
    if (summary.progress.attempts === 0 && !summary.progress.solvedByReference) throw new Error(`Try "${summary.title}" first: the solution opens after your first Check.`);
    const solution = await this.client().call('lab.solution', { id }, { timeoutMs: 30_000 });
    this.emit({ kind: 'solution', id, solution });
    return solution;
  }

  /** Disconnected: nothing is known any more. */
  clear(): void {
    this.generation++;
    this.listening?.off();
    this.listening = null;
    this.starts.clear();
    if (this.labs.size === 0) return;
    this.labs.clear();
    this.emit({ kind: 'list' });
  }

  /** Subscribes to the connection's lab.changed once; a new connection (a new client) replaces the old subscription. */
  private listen(client: AgentClient): void {
    if (this.listening?.client === client) return;
    this.listening?.off();
    this.listening = { client, off: client.on('lab.changed', (change) => this.changed(change)) };
  }

  /** The agent moved a lab's progress by itself: its attempt's time ran out. */
  private changed({ id, progress }: AgentNotifications['lab.changed']): void {
    const summary = this.labs.get(id);
    if (summary) this.labs.set(id, { ...summary, progress });
    // The attempt's containers are gone: "Open Terminal" must not offer them again.
    if (!progress.startedAt) this.starts.delete(id);
    if (progress.lastEnded?.reason === 'time-up' && !progress.startedAt) this.emit({ kind: 'ended', id, progress });
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

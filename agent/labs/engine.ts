/*
 * The lab engine: list, show, start (setup), check, reset, stop (teardown), and the reference
 * solution — everything `lab.*` and `containers-lab lab …` do, in one place, on the agent's own
 * runtime. Operations run one at a time: a check that raced a reset would read half a scenario.
 *
 * An attempt (./attempt.ts) runs from start until it ends: stopped, reset, or its time limit
 * reached — then the score it has at that moment is recorded, its containers are removed, and the
 * learner may start again. A service watches the clock (`watchDeadlines`); a CLI on its own ends an
 * overdue attempt at its next lab command, counting the last check made in time.
 */
import { kubeletDirectory } from '../pods/engine/image-pull';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { notFound, badInput } from '../errors';
import type { ContainerRuntime } from '../runtime/api';
import { PodEngine } from '../pods/engine/pod-engine';
import type { LabCheckInfo, LabCheckReport, LabDetail, LabEnding, LabNotifications, LabSolutionText, LabStarted, LabSummary } from '../protocol/labs';
import { identityOf, nodeHostname, type LabAttempt } from './attempt';
import type { LabContext } from './context';
import type { LabDefinition, SolutionStep } from './format';
import { defaultLabsDirectory, loadLabs } from './loader';
import { allocateNetworks, releaseNetworks, RESERVATIONS_DIRECTORY } from './networks';
import { scoreLab } from './scoring';
import { runStaticPods } from './static-pods';
import { performSetup } from './setup';
import { runSteps, stepText } from './solution';
import { LabStateStore, type LabRecord } from './state';
import { labResources, teardownLab, usesPods } from './teardown';
import { instantiate, type TemplateValues } from './template';

export interface LabEngineOptions {
  stateRoot: string;
  labsDirectory?: string;
  /** End attempts when their time is up, on a timer (the service); otherwise at the next lab command. */
  watchDeadlines?: boolean;
  /** How long a minute of a time limit lasts, in ms: tests shorten it to see a limit run out. */
  minuteMs?: number;
  /** Where attempts reserve their networks, host-wide (tests may use their own). */
  networkReservations?: string;
  /** The node's pod engine (the service's own); without one, a one-shot engine is made when a lab needs pods. */
  pods?: () => PodEngine;
}

type LabEvents = { [K in keyof LabNotifications]: [LabNotifications[K]] };

export class LabEngine {
  /** 'lab.changed' whenever a lab's progress moved: a start, a check, an attempt's end (its time ran out, too). */
  readonly events = new EventEmitter<LabEvents>();
  private labs: LabDefinition[] | null = null;
  private readonly store: LabStateStore;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly deadlines = new Map<string, NodeJS.Timeout>();
  private closed = false;
  private ownPods: PodEngine | null = null;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly options: LabEngineOptions,
  ) {
    this.store = new LabStateStore(join(options.stateRoot, 'labs'));
    if (options.watchDeadlines) for (const { id, attempt } of this.store.started()) this.watchDeadline(id, attempt);
  }

  /** Every lab, loaded once (and checked) from the lab files. */
  definitions(): LabDefinition[] {
    this.labs ??= loadLabs(this.options.labsDirectory ?? defaultLabsDirectory());
    return this.labs;
  }

  definition(id: string): LabDefinition {
    if (typeof id !== 'string' || id === '') throw badInput('a lab id is required');
    const lab = this.definitions().find((candidate) => candidate.id === id);
    if (!lab) throw notFound(`no lab "${id}" (see: containers-lab lab list)`);
    return lab;
  }

  workdir(id: string): string {
    return join(this.options.stateRoot, 'labs', 'work', id);
  }

  list(): LabSummary[] {
    return this.definitions().map((lab) => this.summary(lab));
  }

  show(id: string): LabDetail {
    const lab = this.seen(this.definition(id));
    const checks: LabCheckInfo[] = lab.checks.map((check) => ({ id: check.id, title: check.title, weight: check.weight, needs: check.needs ?? [], hint: check.hint ?? null, ...(check.domain ? { domain: check.domain } : {}) }));
    return { ...this.summary(lab), task: lab.task.trim(), workdir: this.workdir(id), checks, hints: lab.hints ?? [] };
  }

  solution(id: string): LabSolutionText {
    const lab = this.seen(this.definition(id));
    const running = this.record(lab).attempt ? this.runtime : null;
    return { id, steps: lab.solution.steps.map((step) => stepText(step, running)), explanation: lab.solution.explanation?.trim() ?? null };
  }

  start(id: string): Promise<LabStarted> {
    return this.serially(() => this.startNow(this.definition(id)));
  }

  reset(id: string): Promise<LabStarted> {
    return this.start(id);
  }

  stop(id: string): Promise<{ id: string }> {
    return this.serially(async () => {
      const lab = this.definition(id);
      const { attempt } = this.record(lab);
      if (attempt && this.overdue(attempt)) await this.endNow(lab, 'time-up', attempt.lastInTimeScore);
      else await this.endNow(lab, 'stopped', null);
      return { id };
    });
  }

  check(id: string): Promise<LabCheckReport> {
    return this.serially(async () => {
      const lab = this.definition(id);
      const context = await this.startedContext(lab);
      const report = await scoreNode(context);
      return this.keep(lab, report, context.attempt.byReference);
    });
  }

  /** Runs the reference solution (or the partial one) on the started lab, then checks. */
  solve(id: string, partial = false): Promise<LabCheckReport> {
    const lab = this.definition(id);
    if (partial && !lab.partial) return Promise.reject(badInput(`lab "${id}" has no partial solution`));
    return this.serially(async () => {
      const context = await this.startedContext(lab);
      return this.solveWith(lab, context, partial ? context.lab.partial!.steps : context.lab.solution.steps, partial ? context.lab.partial!.score : maxOf(lab));
    });
  }

  /** Runs one of the lab's example answers (by index in `answers`) on the started lab, then checks. */
  tryAnswer(id: string, index: number): Promise<LabCheckReport> {
    const lab = this.definition(id);
    const answer = lab.answers?.[index];
    if (!answer) return Promise.reject(badInput(`lab "${id}" has no example answer ${index}`));
    return this.serially(async () => {
      const context = await this.startedContext(lab);
      return this.solveWith(lab, context, context.lab.answers![index]!.steps, answer.verdict === 'right' ? maxOf(lab) : (answer.score ?? 0));
    });
  }

  /** Stops the deadline timers (attempts keep running; a later engine continues them). */
  close(): void {
    this.closed = true;
    this.ownPods?.close();
    for (const timer of this.deadlines.values()) clearTimeout(timer);
    this.deadlines.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private async solveWith(lab: LabDefinition, context: LabContext, steps: readonly SolutionStep[], target: number): Promise<LabCheckReport> {
    this.store.update(lab.id, maxOf(lab), (record) => {
      if (record.attempt) record.attempt.byReference = true;
    });
    await runSteps(steps, context);
    // A step's command may still be forking when the step returns (`sh -c "sleep 1 & sleep 1 &
    // wait"`, or a shell about to exec its last command): score again for a moment until the
    // answer reaches the score it is known for, then record once.
    let report = await scoreNode(context);
    for (const deadline = Date.now() + SOLUTION_SETTLE_MS; report.score !== target && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, SOLUTION_SETTLE_STEP_MS));
      report = await scoreNode(context);
    }
    return this.keep(lab, report, true);
  }

  private async startNow(lab: LabDefinition): Promise<LabStarted> {
    const previous = this.record(lab).attempt;
    if (previous) await this.endNow(lab, this.overdue(previous) ? 'time-up' : 'stopped', previous.lastInTimeScore);
    // Whatever a crash left under the lab's own names (no attempt recorded, no networks to give back).
    await teardownLab(this.context(this.seen(lab), this.blankAttempt('')), []);

    const token = randomBytes(4).toString('hex');
    const networks = allocateNetworks(lab.networks ?? [], { stateRoot: this.options.stateRoot, lab: lab.id, token }, this.reservations);
    const now = this.now();
    const startedAt = new Date(now).toISOString();
    const attempt: LabAttempt = {
      ...this.blankAttempt(token),
      startedAt,
      deadline: new Date(now + lab.timeLimitMinutes * this.minuteMs).toISOString(),
      networks,
    };
    // Recorded before the setup runs: the network reservations name this attempt as their owner.
    this.saveAttempt(lab, attempt);
    const context = this.context(this.instance(lab, attempt), attempt);
    try {
      await performSetup(context.lab.setup ?? [], context);
      await runStaticPods(context);
      for (const action of context.lab.setup ?? []) if ('run' in action) attempt.made[action.run.name] = identityOf(this.runtime.inspect(action.run.name));
    } catch (error) {
      await this.endNow(lab, null, null).catch(() => {});
      throw error;
    }
    this.saveAttempt(lab, attempt);
    this.watchDeadline(lab.id, attempt);
    this.changed(lab);
    const made = [...labResources(context.lab).containers].filter((name) => name in attempt.made);
    return { id: lab.id, startedAt, deadline: attempt.deadline, timeLimitMinutes: lab.timeLimitMinutes, workdir: context.workdir, containers: made };
  }

  /**
   * Ends the running attempt: records how (`reason` null: a failed start, nothing to record),
   * removes what it made and gives its networks back. `score` is what a time-up records.
   */
  private async endNow(lab: LabDefinition, reason: LabEnding['reason'] | null, score: number | null): Promise<void> {
    const { attempt } = this.record(lab);
    clearTimeout(this.deadlines.get(lab.id));
    this.deadlines.delete(lab.id);
    if (attempt) {
      await teardownLab(this.context(this.instance(lab, attempt), attempt), Object.values(attempt.networks));
      releaseNetworks(attempt.networks, { stateRoot: this.options.stateRoot, lab: lab.id, token: attempt.token }, this.reservations);
    } else {
      await teardownLab(this.context(this.seen(lab), this.blankAttempt('')), []);
    }
    this.store.update(lab.id, maxOf(lab), (record) => {
      record.attempt = null;
      record.progress.startedAt = null;
      record.progress.deadline = null;
      if (!attempt || reason === null) return;
      const at = reason === 'time-up' ? attempt.deadline : new Date(this.now()).toISOString();
      record.progress.lastEnded = { reason, at, score: reason === 'time-up' ? (score ?? 0) : null };
      if (reason === 'time-up' && !attempt.byReference) {
        // The scenario as the learner left it, scored when the clock stopped: their work, counted as a check.
        record.progress.lastScore = score ?? 0;
        record.progress.bestScore = Math.max(record.progress.bestScore ?? 0, score ?? 0);
        record.progress.attempts += 1;
        if (score === maxOf(lab)) record.progress.completed = true;
      }
    });
    this.changed(lab);
  }

  /** The time is up: the attempt ends with the score its scenario has right now. */
  private async timeUp(id: string): Promise<void> {
    const lab = this.definition(id);
    const { attempt } = this.record(lab);
    if (!attempt || !this.overdue(attempt)) return;
    const context = this.context(this.instance(lab, attempt), attempt);
    const report = await scoreNode(context).catch(() => null);
    await this.endNow(lab, 'time-up', report?.score ?? attempt.lastInTimeScore);
  }

  private watchDeadline(id: string, attempt: LabAttempt): void {
    if (!this.options.watchDeadlines || this.closed) return;
    clearTimeout(this.deadlines.get(id));
    const delay = Math.max(0, Date.parse(attempt.deadline) - this.now());
    // setTimeout holds at most 2^31-1 ms; a longer limit is re-armed when that fires.
    const timer = setTimeout(() => {
      this.deadlines.delete(id);
      if (Date.parse(attempt.deadline) > this.now()) return this.watchDeadline(id, attempt);
      void this.serially(() => this.timeUp(id)).catch(() => undefined);
    }, Math.min(delay, 2 ** 31 - 1));
    timer.unref();
    this.deadlines.set(id, timer);
  }

  /** The started attempt's context; an attempt whose time is up ends here, and the call is refused. */
  private async startedContext(lab: LabDefinition): Promise<LabContext> {
    const { attempt, progress } = this.record(lab);
    if (attempt && this.overdue(attempt)) {
      await this.endNow(lab, 'time-up', attempt.lastInTimeScore);
      const ended = this.record(lab).progress.lastEnded!;
      throw badInput(`time is up for lab "${lab.id}": the attempt ended at ${ended.at} with ${ended.score}/${maxOf(lab)} (containers-lab lab start ${lab.id} to try again)`);
    }
    if (!attempt) {
      const ended = progress.lastEnded?.reason === 'time-up' ? ` (its last attempt ran out of time with ${progress.lastEnded.score}/${maxOf(lab)})` : '';
      throw badInput(`lab "${lab.id}" is not started${ended} (containers-lab lab start ${lab.id})`);
    }
    return this.context(this.instance(lab, attempt), attempt);
  }

  /** Keeps a check's outcome in the lab's progress: the learner's own, or the reference's. */
  private keep(lab: LabDefinition, report: LabCheckReport, byReference: boolean): LabCheckReport {
    this.store.update(lab.id, report.max, (record) => {
      record.progress.lastScore = report.score;
      if (byReference) {
        record.progress.solvedByReference ||= report.passed;
        return;
      }
      record.progress.attempts += 1;
      record.progress.bestScore = Math.max(record.progress.bestScore ?? 0, report.score);
      if (report.passed) record.progress.completed = true;
      if (record.attempt && !this.overdue(record.attempt)) record.attempt.lastInTimeScore = report.score;
    });
    this.changed(lab);
    return report;
  }

  /** Tells every client that the lab's progress moved, whoever moved it (a terminal's `lab check`, the clock). */
  private changed(lab: LabDefinition): void {
    this.events.emit('lab.changed', { id: lab.id, progress: this.record(lab).progress });
  }

  private overdue(attempt: LabAttempt): boolean {
    return Date.parse(attempt.deadline) <= this.now();
  }

  private now(): number {
    return Date.now();
  }

  private get minuteMs(): number {
    return this.options.minuteMs ?? 60_000;
  }

  private get reservations(): string {
    return this.options.networkReservations ?? RESERVATIONS_DIRECTORY;
  }

  private record(lab: LabDefinition): LabRecord {
    return this.store.get(lab.id, maxOf(lab));
  }

  private saveAttempt(lab: LabDefinition, attempt: LabAttempt): void {
    this.store.update(lab.id, maxOf(lab), (record) => {
      record.attempt = attempt;
      record.progress.startedAt = attempt.startedAt;
      record.progress.deadline = attempt.deadline;
    });
  }

  private blankAttempt(token: string): LabAttempt {
    return { token, startedAt: '', deadline: '', networks: {}, made: {}, nodeHostname: nodeHostname(), byReference: false, lastInTimeScore: null };
  }

  private values(lab: LabDefinition, attempt: LabAttempt | null): TemplateValues {
    return { workdir: this.workdir(lab.id), token: attempt?.token ?? null, networks: attempt?.networks ?? {}, kubelet: kubeletDirectory(this.options.stateRoot) };
  }

  /** The lab as the running attempt sees it. */
  private instance(lab: LabDefinition, attempt: LabAttempt): LabDefinition {
    return instantiate(lab, this.values(lab, attempt));
  }

  /** The lab as the learner reads it now: the running attempt's values, or what they will be. */
  private seen(lab: LabDefinition): LabDefinition {
    return instantiate(lab, this.values(lab, this.record(lab).attempt));
  }

  private context(lab: LabDefinition, attempt: LabAttempt): LabContext {
    return { runtime: this.runtime, lab, stateRoot: this.options.stateRoot, workdir: this.workdir(lab.id), attempt, pods: () => this.pods() };
  }

  private pods(): PodEngine {
    if (this.options.pods) return this.options.pods();
    this.ownPods ??= new PodEngine(this.runtime, { supervise: false });
    return this.ownPods;
  }

  private summary(lab: LabDefinition): LabSummary {
    return {
      id: lab.id,
      title: lab.title,
      kind: lab.kind,
      domain: lab.domain,
      difficulty: lab.difficulty,
      timeLimitMinutes: lab.timeLimitMinutes,
      order: lab.order,
      requires: lab.requires ?? [],
      progress: this.record(lab).progress,
    };
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => {});
    return next;
  }
}

/** How long solve() waits for a solution's processes to settle, and how often it looks. */
const SOLUTION_SETTLE_MS = 3_000;
const SOLUTION_SETTLE_STEP_MS = 100;

/** Scores the scenario as the node shows it now: its static pod directory read, its pods' passes settled. */
async function scoreNode(context: LabContext): Promise<LabCheckReport> {
  if (usesPods(context.lab)) {
    await runStaticPods(context);
    await context.pods().settled();
  }
  return scoreLab(context.lab, context);
}

function maxOf(lab: LabDefinition): number {
  return lab.checks.reduce((sum, check) => sum + check.weight, 0);
}

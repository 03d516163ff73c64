/*
 * The lab engine: list, show, start (setup), check, reset, stop (teardown), and the reference
 * solution — everything `lab.*` and `containers-lab lab …` do, in one place, on the agent's own
 * runtime. Operations run one at a time: a check that raced a reset would read half a scenario.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { notFound, badInput } from '../errors';
import type { ContainerRuntime } from '../runtime/api';
import type { LabCheckInfo, LabCheckReport, LabDetail, LabSolutionText, LabStarted, LabSummary } from '../protocol/labs';
import { fill, type LabContext } from './context';
import type { LabDefinition } from './format';
import { defaultLabsDirectory, loadLabs } from './loader';
import { scoreLab } from './scoring';
import { performSetup } from './setup';
import { runSteps, stepText } from './solution';
import { LabStateStore } from './state';
import { labResources, teardownLab } from './teardown';

export interface LabEngineOptions {
  stateRoot: string;
  labsDirectory?: string;
}

export class LabEngine {
  private labs: LabDefinition[] | null = null;
  private readonly store: LabStateStore;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly options: LabEngineOptions,
  ) {
    this.store = new LabStateStore(join(options.stateRoot, 'labs'));
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
    const lab = this.definition(id);
    const workdir = this.workdir(id);
    const checks: LabCheckInfo[] = lab.checks.map((check) => ({ id: check.id, title: check.title, weight: check.weight, needs: check.needs ?? [], hint: check.hint ?? null }));
    return { ...this.summary(lab), task: fill(lab.task, { workdir, token: '' }).trim(), workdir, checks, hints: lab.hints ?? [] };
  }

  solution(id: string): LabSolutionText {
    const lab = this.definition(id);
    return { id, steps: lab.solution.steps.map(stepText), explanation: lab.solution.explanation?.trim() ?? null };
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
      await teardownLab(this.context(lab, ''));
      this.store.update(id, maxOf(lab), (record) => {
        record.token = null;
        record.progress.startedAt = null;
      });
      return { id };
    });
  }

  check(id: string): Promise<LabCheckReport> {
    return this.serially(() => this.checkNow(this.definition(id)));
  }

  /** Runs the reference solution (or the partial one) on the started lab, then checks. */
  solve(id: string, partial = false): Promise<LabCheckReport> {
    return this.serially(async () => {
      const lab = this.definition(id);
      if (partial && !lab.partial) throw badInput(`lab "${id}" has no partial solution`);
      const context = this.startedContext(lab);
      await runSteps(partial ? lab.partial!.steps : lab.solution.steps, context);
      // A step's command may still be forking when the step returns (`sh -c "sleep 1 & sleep 1 &
      // wait"`): score again for a moment until the solution reaches its score, then record once.
      const target = partial ? lab.partial!.score : maxOf(lab);
      let report = await scoreLab(lab, context);
      for (const deadline = Date.now() + SOLUTION_SETTLE_MS; report.score < target && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, SOLUTION_SETTLE_STEP_MS));
        report = await scoreLab(lab, context);
      }
      return this.record(lab, report);
    });
  }

  // ---------------------------------------------------------------------------------------------

  private async startNow(lab: LabDefinition): Promise<LabStarted> {
    const token = randomBytes(4).toString('hex');
    const context = this.context(lab, token);
    await teardownLab(context); // whatever an earlier start (or a crash) left
    try {
      await performSetup(lab.setup ?? [], context);
    } catch (error) {
      await teardownLab(context).catch(() => {});
      throw error;
    }
    const startedAt = new Date().toISOString();
    this.store.update(lab.id, maxOf(lab), (record) => {
      record.token = token;
      record.progress.startedAt = startedAt;
    });
    const made = [...labResources(lab).containers].filter((name) => (lab.setup ?? []).some((action) => 'run' in action && action.run.name === name));
    return { id: lab.id, startedAt, timeLimitMinutes: lab.timeLimitMinutes, workdir: context.workdir, containers: made };
  }

  private async checkNow(lab: LabDefinition): Promise<LabCheckReport> {
    return this.record(lab, await scoreLab(lab, this.startedContext(lab)));
  }

  /** Keeps a check's outcome in the lab's progress. */
  private record(lab: LabDefinition, report: LabCheckReport): LabCheckReport {
    this.store.update(lab.id, report.max, (record) => {
      record.progress.attempts += 1;
      record.progress.lastScore = report.score;
      record.progress.bestScore = Math.max(record.progress.bestScore ?? 0, report.score);
      if (report.passed) record.progress.completed = true;
    });
    return report;
  }

  private startedContext(lab: LabDefinition): LabContext {
    const token = this.store.get(lab.id, maxOf(lab)).token;
    if (token === null) throw badInput(`lab "${lab.id}" is not started (containers-lab lab start ${lab.id})`);
    return this.context(lab, token);
  }

  private context(lab: LabDefinition, token: string): LabContext {
    return { runtime: this.runtime, lab, stateRoot: this.options.stateRoot, workdir: this.workdir(lab.id), token };
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
      progress: this.store.get(lab.id, maxOf(lab)).progress,
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

function maxOf(lab: LabDefinition): number {
  return lab.checks.reduce((sum, check) => sum + check.weight, 0);
}

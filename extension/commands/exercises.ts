/*
 * The exercise commands — Open, Start, Check, Reset, Show Solution, Stop, and Open Terminal — for
 * the palette, the Exercises view's menus and the exercise panel's buttons. Each acts through the
 * ExerciseStore, whose events update the tree and the open panel together.
 *
 * Which lab a command is about: the tree node it was run on, a lab id passed by a caller (tests,
 * the panel), the view's selection, or a quick pick (the exercise opened last comes first).
 *
 * "Open Terminal" gives the learner a shell to solve the exercise in: a root shell on the lab host
 * (terminal/host-shell.ts), started in the exercise's answer folder, with `containers-lab` on PATH.
 * Exercises are solved there, not inside a container: tasks say `containers-lab exec NAME -- …`,
 * checks read the answer folder, and a level about PID namespaces needs the host's view of NSpid.
 */
import * as vscode from 'vscode';
import type { LabCheckReport, LabSolutionText, LabStarted, LabSummary } from '../../agent/protocol';
import type { Lab } from '../lab';
import type { ExerciseStore } from '../views/exercises/exercise-store';
import { ExerciseNode } from '../views/exercises/exercise-node';
import type { ExercisesProvider } from '../views/exercises/exercises-provider';
import { exerciseDescription, exerciseStatus, pickOrder, statusLook } from '../views/exercises/model';
import { showPanel, type PanelKind } from '../webviews/shared/panel';
import type { ExerciseState } from '../webviews/exercise/messages';
import { Cancelled } from './cancelled';
import { registerLabCommand } from './register';
import { openHostShell } from '../terminal/host-shell';

export interface ExerciseCommandsContext {
  store: ExerciseStore;
  provider: ExercisesProvider;
  panelKind: PanelKind<ExerciseState>;
  lastOpened(): string | undefined;
  setLastOpened(id: string): Thenable<void>;
}

interface LabQuery {
  placeHolder: string;
  /** Only labs this accepts are offered (e.g. started ones for Check). */
  filter?: (summary: LabSummary) => boolean;
  /** Nothing to offer: this message. */
  none?: string;
}

const isStarted = (summary: LabSummary): boolean => summary.progress.startedAt !== null;

export function registerExerciseCommands(lab: Lab, context: ExerciseCommandsContext): void {
  const { store } = context;

  const resolveLab = async (argument: unknown, query: LabQuery): Promise<LabSummary> => {
    await lab.ensureConnected();
    if (!store.loaded) await store.load();
    const id = argument instanceof ExerciseNode ? argument.id : typeof argument === 'string' ? argument : (argument as { id?: unknown } | undefined)?.id;
    if (typeof id === 'string') {
      const summary = store.summary(id) ?? (await store.load()).find((candidate) => candidate.id === id);
      if (!summary) throw new Error(`No exercise "${id}" (see the Exercises view).`);
      return summary;
    }
    const selected = context.provider.selection()?.summary;
    if (selected && (!query.filter || query.filter(selected))) return selected;
    const candidates = pickOrder(store.list(), context.lastOpened()).filter(query.filter ?? (() => true));
    if (candidates.length === 0) throw new Error(query.none ?? 'No exercises are available from this lab host.');
    const picked = await vscode.window.showQuickPick(
      candidates.map((summary) => ({
        label: `${statusLook(exerciseStatus(summary.progress)).glyph} ${summary.title}`,
        description: exerciseDescription(summary),
        detail: `${summary.kind === 'level' ? 'Learning path' : summary.domain} · ${summary.difficulty} · ${summary.timeLimitMinutes} min${summary.id === context.lastOpened() ? ' · last opened' : ''}`,
        summary,
      })),
      { placeHolder: query.placeHolder, matchOnDescription: true, matchOnDetail: true },
    );
    if (!picked) throw new Cancelled();
    return picked.summary;
  };

  const open = async (summary: LabSummary): Promise<void> => {
    showPanel(lab, context.panelKind, { id: summary.id, title: summary.title });
    if (context.lastOpened() !== summary.id) {
      await context.setLastOpened(summary.id);
      context.provider.refresh();
    }
    await context.provider.reveal(summary.id).catch(() => undefined);
  };

  registerLabCommand(lab, 'containersLab.openExercise', async (argument?: unknown): Promise<string> => {
    const summary = await resolveLab(argument, { placeHolder: 'Open which exercise?' });
    await open(summary);
    return summary.id;
  });

  registerLabCommand(lab, 'containersLab.startExercise', async (argument?: unknown): Promise<LabStarted> => {
    const summary = await resolveLab(argument, { placeHolder: 'Start which exercise? (its setup builds the scenario)' });
    await open(summary);
    return store.start(summary.id);
  });

  registerLabCommand(lab, 'containersLab.checkExercise', async (argument?: unknown): Promise<LabCheckReport> => {
    const summary = await resolveLab(argument, { placeHolder: 'Check which exercise?', filter: isStarted, none: 'No exercise is started: start one first.' });
    await open(summary);
    const report = await store.check(summary.id);
    vscode.window.setStatusBarMessage(`${summary.title}: ${report.score}/${report.max}${report.passed ? ' ✓' : ''}`, 5000);
    return report;
  });

  registerLabCommand(lab, 'containersLab.resetExercise', async (argument?: unknown): Promise<LabStarted> => {
    const summary = await resolveLab(argument, { placeHolder: 'Reset which exercise? (teardown, then its setup again)', filter: isStarted, none: 'No exercise is started.' });
    return store.reset(summary.id);
  });

  registerLabCommand(lab, 'containersLab.showExerciseSolution', async (argument?: unknown): Promise<LabSolutionText> => {
    const summary = await resolveLab(argument, { placeHolder: 'Show the solution of which exercise?', filter: (candidate) => candidate.progress.attempts > 0 || candidate.progress.solvedByReference, none: 'Solutions open after trying: press Check on an exercise first.' });
    await open(summary);
    return store.solution(summary.id);
  });

  registerLabCommand(lab, 'containersLab.stopExercise', async (argument?: unknown): Promise<{ id: string }> => {
    const summary = await resolveLab(argument, { placeHolder: 'Stop which exercise? (its containers and files are removed)', filter: isStarted, none: 'No exercise is started.' });
    await store.stop(summary.id);
    return { id: summary.id };
  });

  registerLabCommand(lab, 'containersLab.openExerciseTerminal', async (argument?: unknown): Promise<string | undefined> => {
    const summary = await resolveLab(argument, { placeHolder: 'Open a terminal for which exercise?', filter: isStarted, none: 'No exercise is started.' });
    return openExerciseTerminal(lab, store, summary);
  });
}

/** A lab-host shell in the exercise's answer folder (see the file's comment); resolves with the terminal's name. */
async function openExerciseTerminal(lab: Lab, store: ExerciseStore, summary: LabSummary): Promise<string> {
  // The start this window saw says where; a start from elsewhere (the CLI, another window) is asked for.
  const workdir = store.started(summary.id)?.workdir ?? (await store.show(summary.id)).workdir;
  return openHostShell(lab, `Lab host: ${summary.title}`, { cwd: workdir }).name;
}

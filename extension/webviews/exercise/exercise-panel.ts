/*
 * The Exercise panel, extension side: one panel per lab, showing its task, a countdown, and the
 * actions — Start/Reset, Check, Hint, Show Solution, Open Terminal, Stop (see view/main.ts for the
 * page). Every action goes through the ExerciseStore, the same path the palette commands take, and
 * the store's events update every open panel and the Exercises view alike: a Check run from the
 * palette shows its results here too.
 *
 * The panel remembers the last start, report and solution it heard of, so a page that (re)loads —
 * a hidden tab brought back, a window reload through the serializer — is redrawn at once.
 *
 * When the agent ends the attempt at its deadline (the store's 'ended', from lab.changed), the page
 * is told at once and reads the lab again; a page whose countdown reached zero first asks for that
 * read itself ('refresh'), since the agent needs a moment to score and tear the scenario down.
 */
import * as vscode from 'vscode';
import type { LabCheckReport, LabSolutionText, LabStarted } from '../../../agent/protocol';
import type { Lab } from '../../lab';
import { errorMessage } from '../../output';
import type { ExerciseStore } from '../../views/exercises/exercise-store';
import type { PanelKind } from '../shared/panel';
import type { Action, ExerciseState, FromPage, ToPage } from './messages';

export const EXERCISE_VIEW_TYPE = 'containersLab.exercise';

/** The kind is made per extension instance: its panels need the store (and the terminal command's id). */
export function exercisePanelKind(store: ExerciseStore): PanelKind<ExerciseState> {
  return {
    viewType: EXERCISE_VIEW_TYPE,
    name: 'exercise',
    key: (state) => state.id,
    title: (state) => `Exercise: ${state.title}`,
    attach: (lab, panel, state) => new ExercisePanel(lab, store, panel, state),
  };
}

class ExercisePanel implements vscode.Disposable {
  private started: LabStarted | null = null;
  private report: LabCheckReport | null = null;
  private solution: LabSolutionText | null = null;
  private stopped = false;
  private busy: Action | null = null;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly lab: Lab,
    private readonly store: ExerciseStore,
    private readonly panel: vscode.WebviewPanel,
    private readonly state: ExerciseState,
  ) {
    const offStore = store.onDidChange((event) => {
      if (event.kind === 'list' || event.id !== state.id) return;
      switch (event.kind) {
        case 'started':
          this.started = event.started;
          this.report = null;
          this.stopped = false;
          void this.post({ type: 'started', started: event.started });
          break;
        case 'checked':
          this.report = event.report;
          void this.post({ type: 'report', report: event.report });
          void this.sendDetail(); // progress (attempts, best score) moved
          break;
        case 'stopped':
          this.started = null;
          this.stopped = true;
          void this.post({ type: 'stopped' });
          break;
        case 'solution':
          this.solution = event.solution;
          void this.post({ type: 'solution', solution: event.solution });
          break;
        case 'ended':
          // The scenario is gone; the page shows the time-up from the progress (not as "Stopped").
          this.started = null;
          this.stopped = false;
          void this.post({ type: 'ended', progress: event.progress });
          void this.sendDetail();
          break;
      }
    });
    const offState = lab.connection.on('state', (connection) => {
      void this.post({ type: 'connection', connected: connection === 'connected' });
      if (connection === 'connected') void this.sendDetail();
    });
    this.disposables.push({ dispose: offStore }, { dispose: offState }, panel.webview.onDidReceiveMessage((message: FromPage) => void this.receive(message)));
  }

  private async receive(message: FromPage): Promise<void> {
    switch (message.type) {
      case 'ready':
        if (this.lab.connection.state !== 'connected') void this.post({ type: 'connection', connected: false });
        await this.sendDetail();
        if (this.stopped) void this.post({ type: 'stopped' });
        else if (this.started) void this.post({ type: 'started', started: this.started });
        if (this.report) void this.post({ type: 'report', report: this.report });
        if (this.solution) void this.post({ type: 'solution', solution: this.solution });
        void this.post({ type: 'busy', action: this.busy });
        break;
      case 'connect':
        await this.lab.ensureConnected().catch(() => undefined);
        break;
      case 'refresh':
        // The tree too: it says "started" until the list is read again (lab.changed does that when it comes).
        await Promise.all([this.sendDetail(), this.lab.connection.state === 'connected' ? this.store.load().catch(() => undefined) : undefined]);
        break;
      case 'action':
        await this.act(message.action);
        break;
    }
  }

  /** One action at a time per panel; its failure is shown in the page (and logged), not as a toast. */
  private async act(action: Action): Promise<void> {
    if (this.busy) return;
    this.busy = action;
    void this.post({ type: 'busy', action });
    try {
      const id = this.state.id;
      switch (action) {
        case 'start':
          await this.store.start(id);
          break;
        case 'reset':
          await this.store.reset(id);
          break;
        case 'check':
          await this.store.check(id);
          break;
        case 'stop':
          await this.store.stop(id);
          break;
        case 'solution':
          await this.store.solution(id);
          break;
        case 'openTerminal':
          await vscode.commands.executeCommand('containersLab.openExerciseTerminal', id);
          break;
      }
    } catch (error) {
      this.lab.output.error(`exercise ${this.state.id}: ${action} failed`, error);
      void this.post({ type: 'error', message: errorMessage(error) });
    } finally {
      this.busy = null;
      void this.post({ type: 'busy', action: null });
    }
  }

  private async sendDetail(): Promise<void> {
    if (this.lab.connection.state !== 'connected') return;
    try {
      const detail = await this.store.show(this.state.id);
      void this.post({ type: 'detail', detail });
    } catch (error) {
      void this.post({ type: 'error', message: errorMessage(error) });
    }
  }

  private post(message: ToPage): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}

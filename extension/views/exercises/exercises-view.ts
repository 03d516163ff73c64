/*
 * The Exercises feature, put together: the store that talks to the agent's lab.* methods, the
 * Exercises view, the exercise panel (with its serializer, so panels come back after a reload)
 * and the commands. The list is read whenever a connection comes up and dropped when it goes.
 * The exercise opened last is remembered in the extension's globalState (per user and machine).
 */
import * as vscode from 'vscode';
import { registerExerciseCommands } from '../../commands/exercises';
import type { Lab } from '../../lab';
import { errorMessage } from '../../output';
import { exercisePanelKind } from '../../webviews/exercise/exercise-panel';
import { registerPanelKind } from '../../webviews/shared/panel';
import { ExerciseStore } from './exercise-store';
import { ExercisesProvider } from './exercises-provider';

const LAST_OPENED_KEY = 'containersLab.lastExercise';

export function registerExercises(lab: Lab): ExerciseStore {
  const store = new ExerciseStore(() => lab.client());
  const lastOpened = (): string | undefined => lab.context.globalState.get<string>(LAST_OPENED_KEY);
  const provider = new ExercisesProvider(store, lastOpened);
  const treeView = vscode.window.createTreeView('containersLab.exercises', { treeDataProvider: provider, showCollapseAll: true });
  provider.attach(treeView);

  const load = (): void => {
    store.load().catch((error: unknown) => {
      // e.g. an older agent on the host, without the lab methods: say so instead of "Reading…" forever
      treeView.message = `Could not read the labs from the lab host: ${errorMessage(error)}`;
      lab.output.error('lab.list failed', error);
    });
  };
  // Any list that arrives (here, after an action, or from "Refresh") ends an earlier failure's message.
  const offList = store.onDidChange((event) => {
    if (event.kind === 'list' && store.loaded) treeView.message = undefined;
  });
  const offState = lab.connection.on('state', (state) => {
    if (state === 'connected') load();
    else if (state === 'disconnected' || state === 'failed') {
      store.clear();
      treeView.message = undefined;
    }
  });
  if (lab.connection.state === 'connected') load();

  const panelKind = exercisePanelKind(store);
  registerPanelKind(lab, panelKind);
  registerExerciseCommands(lab, {
    store,
    provider,
    panelKind,
    lastOpened,
    setLastOpened: (id) => lab.context.globalState.update(LAST_OPENED_KEY, id),
  });
  lab.context.subscriptions.push(provider, treeView, { dispose: offState }, { dispose: offList });
  return store;
}

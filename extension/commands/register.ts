/*
 * Registers a command with the extension's one way of failing: a thrown error becomes a single
 * error notification (with "Show Output" for details) and a line in the output channel; a
 * dismissed picker (Cancelled) ends the command silently. Commands return their result, so
 * tests driving them through vscode.commands.executeCommand can check it.
 */
import * as vscode from 'vscode';
import type { Lab } from '../lab';
import { errorMessage } from '../output';
import { Cancelled } from './cancelled';

export function registerLabCommand<A extends unknown[], R>(lab: Lab, id: string, handler: (...args: A) => Promise<R> | R): void {
  lab.context.subscriptions.push(
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...(args as A));
      } catch (error) {
        if (error instanceof Cancelled) return undefined;
        const message = errorMessage(error);
        lab.output.error(`${id} failed`, error);
        void vscode.window.showErrorMessage(message, 'Show Output').then((choice) => {
          if (choice === 'Show Output') lab.output.show();
        });
        return undefined;
      }
    }),
  );
}

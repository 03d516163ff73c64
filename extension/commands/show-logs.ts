/*
 * "Show Logs": a terminal that shows a container's output so far and follows it
 * (terminal/container-logs.ts). One logs terminal per container: asking again shows it.
 */
import * as vscode from 'vscode';
import type { Lab } from '../lab';
import { ContainerLogs } from '../terminal/container-logs';
import { registerLabCommand } from './register';
import { resolveContainer } from './resolve-container';

/** The terminal's name: the e2e tests find the terminal by it. */
export function logsTerminalName(containerName: string): string {
  return `Logs: ${containerName}`;
}

export function registerShowLogsCommand(lab: Lab): void {
  registerLabCommand(lab, 'containersLab.showLogs', async (argument?: unknown) => {
    await lab.ensureConnected();
    const summary = await resolveContainer(lab, argument, { placeHolder: 'Show the logs of which container?', none: 'There are no containers.', takeSingle: true });
    const name = logsTerminalName(summary.name);
    const existing = vscode.window.terminals.find((terminal) => terminal.name === name && terminal.exitStatus === undefined);
    if (existing) {
      existing.show();
      return name;
    }
    const terminal = vscode.window.createTerminal({ name, pty: new ContainerLogs(lab, summary.id, summary.name), iconPath: new vscode.ThemeIcon('output') });
    terminal.show();
    return name;
  });
}

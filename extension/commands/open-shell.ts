/*
 * "Open Shell in Container": a terminal running busybox's sh inside the container (see
 * terminal/container-shell.ts for how the bytes travel). "Open Lab Host Terminal": a root shell
 * on the lab host, where `containers-lab` runs (terminal/host-shell.ts).
 */
import * as vscode from 'vscode';
import type { Lab } from '../lab';
import { ContainerShell } from '../terminal/container-shell';
import { openHostShell } from '../terminal/host-shell';
import { registerLabCommand } from './register';
import { isRunning, resolveContainer } from './resolve-container';

/** The terminal's name: the e2e tests find the terminal by it. */
export function shellTerminalName(containerName: string): string {
  return `Shell: ${containerName}`;
}

export function registerOpenShellCommand(lab: Lab): void {
  registerLabCommand(lab, 'containersLab.openShell', async (argument?: unknown) => {
    await lab.ensureConnected();
    const summary = await resolveContainer(lab, argument, {
      filter: isRunning,
      placeHolder: 'Open a shell in which container?',
      none: 'No running container: run "Containers Lab: Start busybox container" first.',
      takeSingle: true,
    });
    if (summary.status !== 'running') throw new Error(`${summary.name} is ${summary.status}, not running: no shell can join it.`);
    const record = lab.store.record(summary.id) ?? (await lab.store.inspect(summary.id, false));
    const pty = new ContainerShell(lab, { containerId: summary.id, containerName: summary.name, args: ['sh'], env: record?.config.process?.env });
    const terminal = vscode.window.createTerminal({ name: shellTerminalName(summary.name), pty, iconPath: new vscode.ThemeIcon('vm-running') });
    terminal.show();
    return terminal.name;
  });

  registerLabCommand(lab, 'containersLab.openHostShell', async () => {
    await lab.ensureConnected();
    return openHostShell(lab).name;
  });
}

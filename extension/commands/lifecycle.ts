/*
 * Stop, Remove and Remove All. Stopping sends the container's first process SIGTERM and, after a
 * grace period, SIGKILL; removing a running container stops it first (force), then the agent
 * tears down what it built: the cgroup, the veth pair, the overlay and the state directory. The
 * views update from the agent's container.changed / container.removed notifications.
 */
import * as vscode from 'vscode';
import type { ContainerSummary } from '../../agent/protocol';
import type { Lab } from '../lab';
import { registerLabCommand } from './register';
import { isRunning, resolveContainer } from './resolve-container';

const REMOVE_ALL = 'Remove All';

async function remove(lab: Lab, summary: ContainerSummary): Promise<void> {
  const client = lab.client();
  const started = Date.now();
  lab.output.info(`removing ${summary.name} (${summary.id})…`);
  await client.call('container.remove', { id: summary.id, force: true }, { timeoutMs: 60_000 });
  lab.output.info(`removed ${summary.name} (${summary.id}) in ${Date.now() - started} ms`);
  lab.store.handleRemoved({ id: summary.id, name: summary.name });
}

export function registerLifecycleCommands(lab: Lab): void {
  registerLabCommand(lab, 'containersLab.stopContainer', async (argument?: unknown) => {
    await lab.ensureConnected();
    const summary = await resolveContainer(lab, argument, { filter: isRunning, placeHolder: 'Stop which container?', none: 'No running container to stop.' });
    const record = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Containers Lab: stopping ${summary.name}…` },
      () => lab.client().call('container.stop', { id: summary.id }, { timeoutMs: 60_000 }),
    );
    lab.output.info(`stopped ${record.name}: exit code ${record.exitCode}`);
    lab.store.put(record);
    return record.status;
  });

  registerLabCommand(lab, 'containersLab.removeContainer', async (argument?: unknown) => {
    await lab.ensureConnected();
    const summary = await resolveContainer(lab, argument, { placeHolder: 'Remove which container?', none: 'There are no containers to remove.' });
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Containers Lab: removing ${summary.name}…` }, () => remove(lab, summary));
    return summary.id;
  });

  registerLabCommand(lab, 'containersLab.removeAllContainers', async () => {
    await lab.ensureConnected();
    const all = lab.store.list();
    if (all.length === 0) {
      void vscode.window.showInformationMessage('There are no containers to remove.');
      return 0;
    }
    const choice = await vscode.window.showWarningMessage(
      `Remove all ${all.length} container${all.length === 1 ? '' : 's'}?`,
      { modal: true, detail: `Running containers are stopped first: ${all.map((summary) => summary.name).join(', ')}.` },
      REMOVE_ALL,
    );
    if (choice !== REMOVE_ALL) return 0;
    const failures: string[] = [];
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Containers Lab: removing all containers' },
      async (progress) => {
        for (const summary of all) {
          progress.report({ message: summary.name, increment: 100 / all.length });
          try {
            await remove(lab, summary);
          } catch (error) {
            failures.push(`${summary.name}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      },
    );
    if (failures.length > 0) throw new Error(`Could not remove ${failures.join('; ')}`);
    return all.length;
  });
}

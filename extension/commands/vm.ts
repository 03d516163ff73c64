/*
 * "Start Lab VM", "Stop Lab VM" and "Destroy Lab VM": the lab VM's life cycle from VS Code.
 * Each runs vagrant in the workspace (see ./vm-vagrant.ts for where and how), shows its progress
 * lines in a notification and every line in the "Containers Lab" output channel. Once the VM is
 * up, the extension connects to it by itself with the target `vagrant ssh-config` describes (a
 * multi-node lab asks which node). Stopping or destroying first disconnects from the VM.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { describeTarget, vagrantTargets } from '../connection/targets';
import type { LabTarget } from '../connection/types';
import type { Lab } from '../lab';
import { Cancelled } from './cancelled';
import { registerLabCommand } from './register';
import { diagnoseVagrantFailure, progressMessage, runVagrant, vagrantArgs, vagrantWorkingDir, type VmAction } from './vm-vagrant';

const TITLES: Record<VmAction, string> = {
  up: 'starting the lab VM (the first start takes a few minutes)',
  halt: 'stopping the lab VM',
  destroy: 'destroying the lab VM',
};

/** The repository folder of the workspace: the one holding vm/Vagrantfile. */
function repoRoot(): string {
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (folder.uri.scheme === 'file' && existsSync(join(folder.uri.fsPath, 'vm', 'Vagrantfile'))) return folder.uri.fsPath;
  }
  throw new Error('No lab VM here: open the Containers Lab repository folder (the one with vm/Vagrantfile) as the workspace');
}

async function runVmAction(lab: Lab, action: VmAction): Promise<string> {
  const cwd = vagrantWorkingDir(repoRoot());
  const command = `vagrant ${vagrantArgs(action).join(' ')}`;
  lab.output.info(`${command} (in ${cwd})`);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Containers Lab: ${TITLES[action]}` },
    async (progress) => {
      const run = await runVagrant(vagrantArgs(action), {
        cwd,
        onLine: (line) => {
          if (line.trim() !== '') lab.output.info(`vagrant: ${line}`);
          const message = progressMessage(line);
          if (message) progress.report({ message });
        },
      });
      if (run.code !== 0) throw new Error(diagnoseVagrantFailure(run.output, action));
      lab.output.info(`${command} finished`);
      return cwd;
    },
  );
}

async function disconnectFromVm(lab: Lab): Promise<void> {
  if (lab.connection.target?.kind === 'vagrant') await lab.connection.disconnect();
}

async function connectToVm(lab: Lab, cwd: string): Promise<LabTarget> {
  const targets = await vagrantTargets(cwd);
  let target = targets[0]!;
  if (targets.length > 1) {
    const picked = await vscode.window.showQuickPick(
      targets.map((candidate) => ({ label: candidate.label, description: describeTarget(candidate), target: candidate })),
      { placeHolder: 'The lab has several nodes: which one should the extension connect to?', ignoreFocusOut: true },
    );
    if (!picked) throw new Cancelled();
    target = picked.target;
  }
  await disconnectFromVm(lab);
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Containers Lab: connecting to ${target.label}` },
    () => lab.connection.connect(target),
  );
  lab.output.info(`connected to ${target.label} (${describeTarget(target)})`);
  return target;
}

export function registerVmCommands(lab: Lab): void {
  registerLabCommand(lab, 'containersLab.startVm', async () => {
    const cwd = await runVmAction(lab, 'up');
    return connectToVm(lab, cwd);
  });
  registerLabCommand(lab, 'containersLab.stopVm', async () => {
    await disconnectFromVm(lab);
    await runVmAction(lab, 'halt');
  });
  registerLabCommand(lab, 'containersLab.destroyVm', async () => {
    const choice = await vscode.window.showWarningMessage(
      'Destroy the lab VM?',
      { modal: true, detail: 'The VM and its disk are deleted, with every container in it. "Start Lab VM" makes a fresh one.' },
      'Destroy',
    );
    if (choice !== 'Destroy') throw new Cancelled();
    await disconnectFromVm(lab);
    await runVmAction(lab, 'destroy');
  });
}

/*
 * "Start Lab VM", "Stop Lab VM" and "Destroy Lab VM": the lab VM's life cycle from VS Code.
 * Each runs vagrant in the workspace (see ./vm-vagrant.ts for where and how), shows its progress
 * lines in a notification and every line in the "Containers Lab" output channel. Once the VM is
 * up, the extension connects to it by itself with the target `vagrant ssh-config` describes: in a
 * multi-node lab, the node it used last (remembered per workspace), or the one the learner picks
 * when there is none yet. Stopping or destroying first disconnects from the VM.
 *
 * "Switch Lab Node…": a multi-node lab (LAB_NODES=2 vagrant up: lab1, lab2 on a private network)
 * is one lab host at a time for the extension; this lists every node `vagrant ssh-config` knows,
 * marks the one connected, and moves the connection to the one picked. The status bar and the
 * Lab view's Target row name the node ("lab VM (vagrant: lab2)").
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { describeTarget, sameLabHost, vagrantTargets } from '../connection/targets';
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

/** Where the node last used is kept: a stopped and started lab reconnects to it without asking. */
const LAST_NODE_KEY = 'containersLab.lastLabNode';

async function rememberNode(lab: Lab, target: LabTarget): Promise<void> {
  await lab.context.workspaceState.update(LAST_NODE_KEY, target.label);
}

async function disconnectFromVm(lab: Lab): Promise<void> {
  const target = lab.connection.target;
  if (target?.kind !== 'vagrant') return;
  await rememberNode(lab, target);
  await lab.connection.disconnect();
}

/** Asks which node; the one connected now is marked (and listed first). */
async function pickNode(lab: Lab, targets: LabTarget[], placeHolder: string): Promise<LabTarget> {
  const current = lab.connection.state === 'connected' ? lab.connection.target : null;
  const items = targets.map((candidate) => {
    const connected = current !== null && sameLabHost(candidate, current);
    return { label: candidate.label, description: `${describeTarget(candidate)}${connected ? ' · connected' : ''}`, target: candidate, connected };
  });
  items.sort((a, b) => Number(b.connected) - Number(a.connected));
  const picked = await vscode.window.showQuickPick(items, { placeHolder, ignoreFocusOut: true });
  if (!picked) throw new Cancelled();
  return picked.target;
}

async function connectToVm(lab: Lab, cwd: string): Promise<LabTarget> {
  const targets = await vagrantTargets(cwd);
  const lastLabel = lab.context.workspaceState.get<string>(LAST_NODE_KEY);
  const last = targets.find((candidate) => candidate.label === lastLabel);
  if (last && targets.length > 1) lab.output.info(`reconnecting to ${last.label}, the node in use before ("Switch Lab Node…" moves to another)`);
  const target = last ?? (targets.length > 1 ? await pickNode(lab, targets, 'The lab has several nodes: which one should the extension connect to?') : targets[0]!);
  await connectToNode(lab, target);
  return target;
}

async function connectToNode(lab: Lab, target: LabTarget): Promise<void> {
  await disconnectFromVm(lab);
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Containers Lab: connecting to ${target.label}` },
    () => lab.connection.connect(target),
  );
  await rememberNode(lab, target);
  lab.output.info(`connected to ${target.label} (${describeTarget(target)})`);
}

async function switchLabNode(lab: Lab): Promise<LabTarget> {
  const cwd = vagrantWorkingDir(repoRoot());
  const targets = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Containers Lab: asking Vagrant for the lab\'s nodes…' },
    () => vagrantTargets(cwd),
  );
  if (targets.length < 2) {
    throw new Error(`The lab VM has one node (${targets[0]!.label}): nothing to switch to. A lab of several nodes: LAB_NODES=2 vagrant up (in vm/)`);
  }
  const target = await pickNode(lab, targets, 'Switch the lab to which node?');
  const current = lab.connection.target;
  if (lab.connection.state === 'connected' && current && sameLabHost(current, target)) return target;
  await connectToNode(lab, target);
  return target;
}

export function registerVmCommands(lab: Lab): void {
  registerLabCommand(lab, 'containersLab.startVm', async () => {
    const cwd = await runVmAction(lab, 'up');
    return connectToVm(lab, cwd);
  });
  registerLabCommand(lab, 'containersLab.switchLabNode', () => switchLabNode(lab));
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

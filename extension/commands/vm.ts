/*
 * "Start Lab VM", "Stop Lab VM" and "Destroy Lab VM": the lab VM's life cycle from VS Code.
 * Each runs vagrant in the workspace (see ./vm-vagrant.ts for where and how), shows its progress
 * lines in a notification and every line in the "Containers Lab" output channel. Once the VM is
 * up, the extension connects to it by itself with the target `vagrant ssh-config` describes: in a
 * multi-node lab, the node it used last, or the one the learner picks when there is none yet
 * (./vm-memory.ts). Stopping or destroying first disconnects from the VM; destroying also forgets
 * the VM's host-key pins, since the next VM makes new keys.
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
import { LabVmMemory } from './vm-memory';
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

async function connectToVm(lab: Lab, memory: LabVmMemory, cwd: string): Promise<LabTarget> {
  const targets = await vagrantTargets(cwd);
  const last = targets.find((candidate) => candidate.label === memory.lastNode());
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

/** The VM and its disks are gone: so are the host keys pinned for its nodes. */
async function forgetDestroyedVm(lab: Lab, memory: LabVmMemory): Promise<void> {
  const endpoints = await memory.forgetVm();
  for (const endpoint of endpoints) await lab.hostKeys.delete(endpoint);
  if (endpoints.length > 0) lab.output.info(`forgot the host keys pinned for the destroyed VM's nodes (${endpoints.join(', ')}): a new VM makes new ones`);
}

export function registerVmCommands(lab: Lab): void {
  const memory = new LabVmMemory(lab.context.workspaceState);
  // every connection to a node counts, however it was made (Connect, on startup, Start, Switch)
  const offState = lab.connection.on('state', (state) => {
    const target = lab.connection.target;
    if (state === 'connected' && target?.kind === 'vagrant') void memory.connectedTo(target);
  });
  lab.context.subscriptions.push({ dispose: offState });

  registerLabCommand(lab, 'containersLab.startVm', async () => {
    const cwd = await runVmAction(lab, 'up');
    return connectToVm(lab, memory, cwd);
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
    await forgetDestroyedVm(lab, memory);
  });
}

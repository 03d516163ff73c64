/*
 * Turns the setting containersLab.target into a concrete LabTarget, asking the user only when
 * the choice is really theirs (several Vagrant machines, or a host from ~/.ssh/config).
 * The order "auto" follows is in ./auto-target.ts.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_SOCKET_PATH } from '../../agent/service/socket-path';
import { localTarget, settingsTarget, sshConfigTargets, vagrantTargets, type SshSettings } from '../connection/targets';
import type { LabTarget } from '../connection/types';
import { Cancelled } from '../commands/cancelled';
import { chooseTargetKind, findOnPath } from './auto-target';

export interface TargetSettings {
  target: string;
  socketPath: string;
  ssh: SshSettings;
}

export function readTargetSettings(): TargetSettings {
  const config = vscode.workspace.getConfiguration('containersLab');
  return {
    target: config.get<string>('target', 'auto'),
    socketPath: config.get<string>('agent.socketPath', '') || DEFAULT_SOCKET_PATH,
    ssh: {
      host: config.get<string>('ssh.host', ''),
      port: config.get<number>('ssh.port', 22),
      username: config.get<string>('ssh.username', '') || undefined,
      privateKeyPath: config.get<string>('ssh.privateKeyPath', '') || undefined,
    },
  };
}

/** The agent's socket exists here and this process may connect to it (root, on the lab host). */
export function localSocketUsable(socketPath: string): boolean {
  try {
    if (!statSync(socketPath).isSocket()) return false;
    accessSync(socketPath, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first workspace folder's vm/ directory, when it holds a Vagrantfile. */
export function workspaceVmFolder(): string | null {
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (folder.uri.scheme !== 'file') continue;
    const vm = join(folder.uri.fsPath, 'vm');
    if (existsSync(join(vm, 'Vagrantfile'))) return vm;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export async function resolveTarget(settings: TargetSettings = readTargetSettings()): Promise<LabTarget> {
  const vmFolder = workspaceVmFolder();
  const kind = chooseTargetKind(settings.target, {
    localSocketUsable: settings.target === 'auto' && localSocketUsable(settings.socketPath),
    vmFolder,
    vagrantInstalled: findOnPath('vagrant', process.env.PATH, isExecutable) !== null,
    settingsHost: settings.ssh.host ?? '',
  });
  switch (kind) {
    case 'local':
      return localTarget(settings.socketPath);
    case 'vagrant': {
      if (!vmFolder) throw new Error('containersLab.target is "vagrant" but the workspace has no vm/ folder with a Vagrantfile: open the Containers Lab repository folder');
      const targets = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Containers Lab: asking Vagrant for the lab VM…' },
        () => vagrantTargets(vmFolder),
      );
      return targets.length === 1 ? targets[0]! : pickTarget(targets, 'Which Vagrant machine is the lab host?');
    }
    case 'settings': {
      const target = settingsTarget(settings.ssh);
      if (!target) throw new Error('containersLab.target is "settings" but containersLab.ssh.host is empty: set it in the settings');
      return target;
    }
    case 'ssh-config': {
      const targets = await sshConfigTargets();
      if (targets.length === 0) {
        throw new Error(
          'No lab host found: no agent socket on this machine, no Vagrant VM in the workspace, containersLab.ssh.host is empty and ~/.ssh/config has no hosts. Set containersLab.ssh.host (and .username, .privateKeyPath).',
        );
      }
      return pickTarget(targets, 'Which SSH host is the lab host? (from ~/.ssh/config)');
    }
  }
}

async function pickTarget(targets: LabTarget[], placeHolder: string): Promise<LabTarget> {
  const picked = await vscode.window.showQuickPick(
    targets.map((target) => ({
      label: target.label,
      description: `${target.username ? `${target.username}@` : ''}${target.host ?? ''}${target.port ? `:${target.port}` : ''}`,
      target,
    })),
    { placeHolder, ignoreFocusOut: true },
  );
  if (!picked) throw new Cancelled();
  return picked.target;
}

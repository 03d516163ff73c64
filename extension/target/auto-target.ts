/*
 * Which lab host "auto" means (setting containersLab.target), decided from facts the caller
 * gathers. Kept free of 'vscode' and of I/O so the order is unit-tested:
 *
 *   1. local       the agent's Unix socket exists here and we may open it (VS Code runs as root on
 *                  the lab host itself — e.g. code-server started by scripts/lab)
 *   2. vagrant     the workspace has a vm/ folder and `vagrant` is on PATH: the lab VM
 *   3. settings    containersLab.ssh.host is set
 *   4. ssh-config  otherwise ask for a host from ~/.ssh/config
 */
import type { TargetKind } from '../connection/types';

export type TargetSetting = 'auto' | TargetKind;

export interface TargetFacts {
  localSocketUsable: boolean;
  /** The workspace's vm/ folder with a Vagrantfile, or null. */
  vmFolder: string | null;
  vagrantInstalled: boolean;
  settingsHost: string;
}

/** The kind of target to use for a setting value; an unknown value counts as "auto". */
export function chooseTargetKind(setting: string, facts: TargetFacts): TargetKind {
  if (setting === 'local' || setting === 'vagrant' || setting === 'settings' || setting === 'ssh-config') return setting;
  if (facts.localSocketUsable) return 'local';
  if (facts.vmFolder !== null && facts.vagrantInstalled) return 'vagrant';
  if (facts.settingsHost.trim() !== '') return 'settings';
  return 'ssh-config';
}

/** Whether `name` is an executable on a PATH string (PATH-style lookup without running anything). */
export function findOnPath(name: string, pathVariable: string | undefined, isExecutable: (path: string) => boolean): string | null {
  for (const directory of (pathVariable ?? '').split(':')) {
    if (directory === '') continue;
    const candidate = `${directory.replace(/\/+$/, '')}/${name}`;
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/*
 * Connect, Disconnect and Forget Host Key. Connecting resolves the target (setting
 * containersLab.target), then lets the connection layer do SSH, the host-key check and the agent
 * bootstrap, showing its progress in a notification.
 */
import * as vscode from 'vscode';
import type { AgentClient } from '../../agent/service/client';
import type { HostKeyPrompt } from '../connection/types';
import { describeTarget } from '../connection/targets';
import type { Lab } from '../lab';
import { resolveTarget } from '../target/resolve-target';
import { detailBesidesTarget } from '../views/lab/model';
import { Cancelled } from './cancelled';
import { registerLabCommand } from './register';

const TRUST = 'Trust and Connect';

/** Asks once per new host key (modal: the answer decides whether we talk to this machine at all). */
export const askToTrustHostKey: HostKeyPrompt = async (target, fingerprint) => {
  const choice = await vscode.window.showWarningMessage(
    `Trust the host key of ${target.label}?`,
    {
      modal: true,
      detail:
        `This is the first connection to ${describeTarget(target)}. Its host key fingerprint is\n\n${fingerprint}\n\n` +
        'Compare it with the one the host shows (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub). ' +
        'Once trusted it is pinned: if the host later shows a different key, Containers Lab refuses to connect.',
    },
    TRUST,
  );
  return choice === TRUST;
};

let connecting: Promise<AgentClient> | undefined;

/** Connects (once, even if asked twice at the same time) and returns the client. */
export function connect(lab: Lab): Promise<AgentClient> {
  if (lab.connection.state === 'connected' && lab.connection.client) return Promise.resolve(lab.connection.client);
  connecting ??= doConnect(lab).finally(() => {
    connecting = undefined;
  });
  return connecting;
}

async function doConnect(lab: Lab): Promise<AgentClient> {
  // While the link is being re-established, a command that needs it retries the same host now
  // rather than asking again which host to use.
  const current = lab.connection.target;
  const target = lab.connection.state === 'reconnecting' && current ? current : await resolveTarget();
  lab.output.info(`connecting to ${target.label} (${target.kind}: ${describeTarget(target)})`);
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Containers Lab: connecting to ${target.label}` },
    async (progress) => {
      const off = lab.connection.on('state', (state, detail) => {
        const news = detailBesidesTarget(detail, target.label);
        progress.report({ message: state === 'bootstrapping' ? `installing/starting the agent${news ? `: ${news}` : ''}` : news ?? state });
      });
      try {
        await lab.connection.connect(target);
      } finally {
        off();
      }
    },
  );
  const client = lab.connection.client;
  if (!client) throw new Error(`connecting to ${target.label} ended without a connection`);
  const info = lab.connection.info;
  lab.output.info(`connected to ${target.label}${info ? `: agent ${info.version}, kernel ${info.kernel}, cgroup ${info.cgroupVersion}` : ''}`);
  return client;
}

export function registerConnectionCommands(lab: Lab): void {
  registerLabCommand(lab, 'containersLab.connect', async () => {
    await connect(lab);
    return lab.connection.target ?? undefined;
  });

  registerLabCommand(lab, 'containersLab.disconnect', async () => {
    const target = lab.connection.target;
    await lab.connection.disconnect();
    lab.output.info(`disconnected${target ? ` from ${target.label}` : ''} (containers keep running on the lab host)`);
  });

  registerLabCommand(lab, 'containersLab.forgetHostKey', async () => {
    const pins = lab.hostKeys.all();
    const entries = Object.entries(pins);
    if (entries.length === 0) {
      void vscode.window.showInformationMessage('Containers Lab has no pinned host keys.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      entries.map(([hostPort, fingerprint]) => ({ label: hostPort, description: fingerprint })),
      { placeHolder: 'Forget the pinned host key of… (only after you know the host was rebuilt)' },
    );
    if (!picked) throw new Cancelled();
    await lab.hostKeys.delete(picked.label);
    lab.output.info(`forgot the host key pinned for ${picked.label}`);
    void vscode.window.showInformationMessage(`Forgot the host key of ${picked.label}: the next connection asks again.`);
  });
}

/*
 * Wires the "On This Host" view (./host-provider.ts) into the extension: its tree view, its
 * Refresh button (containersLab.refreshHost), a read after each (re)connect, and a coalesced read
 * after each container.changed / container.removed notification of the agent.
 */
import * as vscode from 'vscode';
import { registerLabCommand } from '../../commands/register';
import type { Lab } from '../../lab';
import { HostProvider } from './host-provider';

export function registerHostView(lab: Lab): HostProvider {
  const client = () => (lab.connection.state === 'connected' ? lab.client() : null);
  const provider = new HostProvider(client, (message, error) => lab.output.error(message, error));
  const treeView = vscode.window.createTreeView('containersLab.host', { treeDataProvider: provider, showCollapseAll: true });
  provider.attach(treeView);
  const offState = lab.connection.on('state', (state) => {
    if (state === 'connected') provider.invalidate();
    else if (state === 'disconnected' || state === 'failed') provider.clear();
  });
  lab.context.subscriptions.push(
    provider,
    treeView,
    { dispose: offState },
    lab.onNotification('container.changed', () => provider.invalidate()),
    lab.onNotification('container.removed', () => provider.invalidate()),
  );
  registerLabCommand(lab, 'containersLab.refreshHost', async () => {
    await lab.ensureConnected();
    await provider.reload();
    return provider.containers;
  });
  return provider;
}

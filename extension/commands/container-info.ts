/*
 * Small context-menu commands on a container: Copy ID, Copy PID, Show in Topology (which opens the
 * Live Topology panel focused on the container).
 *
 * The OCI runtime-spec config.json the container was made from — the one document the agent
 * realised — and the Pod YAML asking for the same container open as read-only editors from the
 * Manifests panel ("Show Manifests"). They are served here by a text document content provider
 * (scheme "containers-lab"), which VS Code opens read-only.
 */
import * as vscode from 'vscode';
import type { Lab } from '../lab';
import { configToPod } from '../webviews/manifests/pod-yaml';
import { showContainerInTopology } from '../webviews/topology/topology-panel';
import { registerLabCommand } from './register';
import { isRunning, resolveContainer } from './resolve-container';

export const MANIFEST_SCHEME = 'containers-lab';

/** containers-lab:/<name>/config.json?<id> */
export function manifestUri(id: string, name: string): vscode.Uri {
  return vscode.Uri.from({ scheme: MANIFEST_SCHEME, path: `/${name}/config.json`, query: id });
}

class ManifestProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly lab: Lab) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const id = uri.query;
    const record = this.lab.store.record(id) ?? (await this.lab.store.inspect(id, false));
    if (!record) throw new Error(`No container ${id}`);
    // containers-lab:/<name>/pod.yaml?<id> (extension/webviews/manifests/pod-yaml-uri.ts): the Pod asking for the same container.
    if (uri.path.endsWith('/pod.yaml')) return configToPod(record.config, record).yaml;
    return `${JSON.stringify(record.config, null, 2)}\n`;
  }
}

export function registerContainerInfoCommands(lab: Lab): void {
  lab.context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(MANIFEST_SCHEME, new ManifestProvider(lab)));

  registerLabCommand(lab, 'containersLab.copyId', async (argument?: unknown) => {
    const summary = await resolveContainer(lab, argument, { placeHolder: 'Copy the ID of which container?', none: 'There are no containers.' });
    await vscode.env.clipboard.writeText(summary.id);
    vscode.window.setStatusBarMessage(`Copied the ID of ${summary.name}: ${summary.id}`, 3000);
    return summary.id;
  });

  registerLabCommand(lab, 'containersLab.copyPid', async (argument?: unknown) => {
    const summary = await resolveContainer(lab, argument, { filter: isRunning, placeHolder: 'Copy the host PID of which container?', none: 'No running container.' });
    if (summary.pid === null) throw new Error(`${summary.name} has no process (it is ${summary.status}).`);
    await vscode.env.clipboard.writeText(String(summary.pid));
    vscode.window.setStatusBarMessage(`Copied the host PID of ${summary.name}: ${summary.pid}`, 3000);
    return summary.pid;
  });

  // The Live Topology panel, focused on this container (extension/webviews/topology/).
  registerLabCommand(lab, 'containersLab.showInTopology', (argument?: unknown) => showContainerInTopology(lab, argument));
}

/*
 * Commands on the Pods view: Delete Pod (the kubelet's way: preStop hooks, TERM, the pod's grace
 * period, KILL — the view follows pod.removed), Describe Pod (`describe pod` as a read-only
 * document that follows the pod's changes) and Show Logs of one of a pod's containers (the
 * runtime container standing for it now, as `containers-lab logs POD -c C` reads it); Show
 * Manifests opens the pod's Pod YAML beside its containers' config.json and cgroup paths.
 */
import * as vscode from 'vscode';
import { describePod } from '../../agent/cli/verbs/pods/pod-format';
import type { Lab } from '../lab';
import { errorMessage } from '../output';
import { ContainerLogs } from '../terminal/container-logs';
import { PodContainerNode } from '../views/pods/pod-container-node';
import { PodNode } from '../views/pods/pod-node';
import type { PodStore } from '../views/pods/pod-store';
import type { PodsProvider } from '../views/pods/pods-provider';
import { showPodManifests } from '../webviews/manifests/pod-manifests-panel';
import { Cancelled } from './cancelled';
import { registerLabCommand } from './register';
import { logsTerminalName } from './show-logs';

export const POD_SCHEME = 'containers-lab-pod';

/** containers-lab-pod:/describe/<name>?<name>: `describe pod NAME` as a read-only document. */
export function describeUri(name: string): vscode.Uri {
  return vscode.Uri.from({ scheme: POD_SCHEME, path: `/describe/${name}`, query: name });
}

class DescribeProvider implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly lab: Lab) {
    const refresh = ({ name }: { name: string }): void => {
      const uri = describeUri(name);
      if (vscode.workspace.textDocuments.some((document) => document.uri.toString() === uri.toString())) this.changed.fire(uri);
    };
    lab.context.subscriptions.push(this.changed, lab.onNotification('pod.changed', refresh), lab.onNotification('pod.removed', refresh));
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const name = uri.query;
    try {
      return describePod(await this.lab.client().call('pod.get', { name }));
    } catch (error) {
      return `Error from server: ${errorMessage(error)}\n`;
    }
  }
}

async function pickPod(store: PodStore, view: PodsProvider, argument: unknown, placeHolder: string): Promise<string> {
  if (argument instanceof PodNode) return argument.name;
  if (argument instanceof PodContainerNode) return argument.podName;
  if (typeof argument === 'string') return argument;
  const selected = view.selection()[0];
  if (selected) return selected instanceof PodNode ? selected.name : selected.podName;
  const all = store.list();
  if (all.length === 0) throw new Error('There are no pods: apply a Pod YAML first (Containers Lab: Apply Pod YAML).');
  const picked = await vscode.window.showQuickPick(all.map((pod) => ({ label: pod.name, description: `${pod.status} · ${pod.ready} ready` })), { placeHolder });
  if (!picked) throw new Cancelled();
  return picked.label;
}

export function registerPodCommands(lab: Lab, store: PodStore, view: PodsProvider): void {
  lab.context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(POD_SCHEME, new DescribeProvider(lab)));
  /** The runtime container each pod logs terminal reads (a restart makes a new one). */
  const logsOf = new Map<string, string>();

  registerLabCommand(lab, 'containersLab.deletePod', async (argument?: unknown) => {
    const client = await lab.ensureConnected();
    const name = await pickPod(store, view, argument, 'Delete which pod?');
    const started = Date.now();
    lab.output.info(`deleting pod/${name}…`);
    // The grace period is the pod's own (terminationGracePeriodSeconds, 30 s unless it says otherwise).
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Containers Lab: deleting pod/${name} (TERM, then KILL after its grace period)…` },
      () => client.call('pod.delete', { name }, { timeoutMs: 15 * 60_000 }),
    );
    lab.output.info(`pod/${name} deleted in ${Date.now() - started} ms`);
    store.handleRemoved({ name });
    return name;
  });

  registerLabCommand(lab, 'containersLab.describePod', async (argument?: unknown) => {
    await lab.ensureConnected();
    const name = await pickPod(store, view, argument, 'Describe which pod?');
    const document = await vscode.workspace.openTextDocument(describeUri(name));
    await vscode.window.showTextDocument(document, { preview: true });
    return name;
  });

  registerLabCommand(lab, 'containersLab.showPodManifests', async (argument?: unknown) => {
    await lab.ensureConnected();
    const name = await pickPod(store, view, argument, 'Show the manifests of which pod?');
    showPodManifests(lab, name);
    return name;
  });

  registerLabCommand(lab, 'containersLab.showPodLogs', async (argument?: unknown, containerName?: string) => {
    const client = await lab.ensureConnected();
    const pod = await pickPod(store, view, argument, 'Show the logs of which pod?');
    const wanted = argument instanceof PodContainerNode ? argument.containerName : containerName;
    const { id, container } = await client.call('pod.resolve', { name: pod, ...(wanted ? { container: wanted } : {}) });
    const name = logsTerminalName(`${pod}/${container}`);
    const existing = vscode.window.terminals.find((terminal) => terminal.name === name && terminal.exitStatus === undefined);
    if (existing && logsOf.get(name) === id) {
      existing.show();
      return name;
    }
    existing?.dispose();
    logsOf.set(name, id);
    const terminal = vscode.window.createTerminal({ name, pty: new ContainerLogs(lab, id, `${pod}/${container}`), iconPath: new vscode.ThemeIcon('output') });
    terminal.show();
    return name;
  });
}

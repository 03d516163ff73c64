/*
 * The Manifests panel for a pod, extension side: one panel per pod (Pods view → Show Manifests).
 * It reads the pod (pod.get) and each of its runtime containers (container.inspect) and sends
 * what ./pod-manifests.ts makes of them; the pod's changes (pod.changed: a restart, a container
 * started after its init containers) send it again, pod.removed says the pod is gone.
 */
import * as vscode from 'vscode';
import type { ContainerRecord } from '../../../agent/protocol';
import type { Lab } from '../../lab';
import { registerPanelKind, showPanel, type PanelKind } from '../shared/panel';
import type { FromPage, PodManifestsState, ToPage } from './messages';
import { podManifests } from './pod-manifests';

export const POD_MANIFESTS_VIEW_TYPE = 'containersLab.podManifests';

export const podManifestsPanel: PanelKind<PodManifestsState> = {
  viewType: POD_MANIFESTS_VIEW_TYPE,
  // The Manifests page (view/main.ts) draws the pod's version when its state names a pod.
  name: 'manifests',
  key: (state) => state.pod,
  title: (state) => `Manifests: pod/${state.pod}`,
  attach: (lab, panel, state) => attachPodManifests(lab, panel, state),
};

function attachPodManifests(lab: Lab, panel: vscode.WebviewPanel, state: PodManifestsState): vscode.Disposable {
  const post = (message: ToPage): Thenable<boolean> => panel.webview.postMessage(message);
  let ready = false;

  const send = async (): Promise<void> => {
    const client = await lab.ensureConnected();
    const pod = await client.call('pod.get', { name: state.pod });
    const inspect = (id: string): Promise<ContainerRecord | null> => client.call('container.inspect', { id }).catch(() => null);
    const ids = [...pod.status.initContainerStatuses, ...pod.status.containerStatuses].map((status) => status.containerID).filter((id): id is string => id !== null);
    const records = new Map<string, ContainerRecord>();
    for (const record of await Promise.all(ids.map(inspect))) if (record) records.set(record.id, record);
    const sandbox = pod.sandbox ? await inspect(pod.sandbox.id) : null;
    void post({ type: 'pod-documents', manifests: podManifests(pod, records, sandbox) });
  };
  const failed = (error: unknown): void => {
    void post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  };
  // A pod changes in bursts (one pod.changed per kubelet pass): one read at a time, one more after it if asked.
  let reading: Promise<void> | null = null;
  let again = false;
  const refresh = (): void => {
    if (reading) {
      again = true;
      return;
    }
    reading = send().catch(failed).finally(() => {
      reading = null;
      if (again) {
        again = false;
        refresh();
      }
    });
  };

  const disposables = [
    panel.webview.onDidReceiveMessage((message: FromPage) => {
      if (message.type !== 'ready') return;
      ready = true;
      refresh();
    }),
    lab.onNotification('pod.changed', (change) => {
      if (ready && change.name === state.pod) refresh();
    }),
    lab.onNotification('pod.removed', (removal) => {
      if (removal.name === state.pod) void post({ type: 'pod-removed' });
    }),
  ];
  return { dispose: () => disposables.forEach((disposable) => disposable.dispose()) };
}

export function registerPodManifestsPanel(lab: Lab): void {
  registerPanelKind(lab, podManifestsPanel);
}

export function showPodManifests(lab: Lab, pod: string): vscode.WebviewPanel {
  return showPanel(lab, podManifestsPanel, { pod });
}

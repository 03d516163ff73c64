/*
 * The Manifests panel, extension side: one panel per container with its OCI config.json and the
 * Kubernetes Pod that asks for the same container, side by side (see view/main.ts for the page).
 *
 * The documents are computed once when the page loads; the config.json of a container never
 * changes. What the kernel made of a field is read fresh (container.inspect) each time the learner
 * selects one, so the value shown is the kernel's now, not the one the panel opened with.
 */
import * as vscode from 'vscode';
import { RpcErrorCode, type ContainerRecord } from '../../../agent/protocol';
import { RpcError } from '../../../agent/service/jsonrpc';
import { manifestUri } from '../../commands/container-info';
import { registerLabCommand } from '../../commands/register';
import { resolveContainer } from '../../commands/resolve-container';
import type { Lab } from '../../lab';
import { registerPanelKind, showPanel, type PanelKind } from '../shared/panel';
import { configJsonText, documentFields } from './document-fields';

export { configJsonText };
import type { FromPage, ImageConfigDocument, ManifestsState, PageLink, ToPage } from './messages';
import { configToPod } from './pod-yaml';
import { registerPodManifestsPanel } from './pod-manifests-panel';
import { podYamlUri } from './pod-yaml-uri';

export const MANIFESTS_VIEW_TYPE = 'containersLab.manifests';

export const manifestsPanel: PanelKind<ManifestsState> = {
  viewType: MANIFESTS_VIEW_TYPE,
  name: 'manifests',
  key: (state) => state.id,
  title: (state) => `Manifests: ${state.name}`,
  attach: (lab, panel, state) => attachManifests(lab, panel, state),
};

function attachManifests(lab: Lab, panel: vscode.WebviewPanel, state: ManifestsState): vscode.Disposable {
  const post = (message: ToPage): Thenable<boolean> => panel.webview.postMessage(message);
  const failed = (error: unknown): void => {
    if (error instanceof RpcError && error.code === RpcErrorCode.NotFound) void post({ type: 'status', status: 'removed' });
    else void post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  };
  const inspect = async (): Promise<ContainerRecord> => (await lab.ensureConnected()).call('container.inspect', { id: state.id });

  const sendDocuments = async (): Promise<void> => {
    const record = await inspect();
    const translation = configToPod(record.config, record);
    const config = configJsonText(record);
    const links: PageLink[] = translation.links.map(({ kernel, ...link }) => ({ ...link, hasKernel: kernel !== null }));
    const image = record.imageRef ? await imageConfigDocument(lab, record.imageRef.name) : undefined;
    void post({
      type: 'documents',
      ...(image ? { image } : {}),
      name: record.name,
      status: record.status,
      config: { text: config, fields: documentFields(config) },
      pod: { text: translation.yaml, fields: documentFields(translation.yaml) },
      links,
    });
  };

  const receive = async (message: FromPage): Promise<void> => {
    switch (message.type) {
      case 'ready':
        await sendDocuments().catch(failed);
        break;
      case 'select': {
        try {
          const record = await inspect();
          const link = configToPod(record.config, record).links.find((candidate) => candidate.id === message.linkId);
          void post({ type: 'kernel', linkId: message.linkId, kernel: link?.kernel ?? null, readAt: new Date().toISOString() });
        } catch (error) {
          failed(error);
        }
        break;
      }
      case 'open': {
        const uri = message.document === 'config' ? manifestUri(state.id, state.name) : podYamlUri(state.id, state.name);
        const document = await vscode.workspace.openTextDocument(uri);
        await vscode.window.showTextDocument(document, { preview: true, viewColumn: vscode.ViewColumn.Beside });
        break;
      }
    }
  };

  const disposables = [
    panel.webview.onDidReceiveMessage((message: FromPage) => void receive(message).catch(failed)),
    lab.onNotification('container.changed', (change) => {
      if (change.id === state.id) void post({ type: 'status', status: change.status });
    }),
    lab.onNotification('container.removed', (removal) => {
      if (removal.id === state.id) void post({ type: 'status', status: 'removed' });
    }),
  ];
  return { dispose: () => disposables.forEach((disposable) => disposable.dispose()) };
}

/** "Show Manifests (config.json ↔ Pod YAML)" and "Open Pod YAML", and the panel serializers (a container's, a pod's). */
export function registerManifestsWebview(lab: Lab): void {
  registerPanelKind(lab, manifestsPanel);
  registerPodManifestsPanel(lab);
  registerLabCommand(lab, 'containersLab.showManifests', async (argument?: unknown) => {
    await lab.ensureConnected();
    const summary = await resolveContainer(lab, argument, { placeHolder: 'Show the manifests of which container?', none: 'There are no containers.', takeSingle: true });
    showPanel(lab, manifestsPanel, { id: summary.id, name: summary.name });
    return summary.id;
  });
  registerLabCommand(lab, 'containersLab.openPodYaml', async (argument?: unknown) => {
    await lab.ensureConnected();
    const summary = await resolveContainer(lab, argument, { placeHolder: 'Show the Pod YAML of which container?', none: 'There are no containers.', takeSingle: true });
    // The path ends in pod.yaml, so VS Code opens it as YAML; a content provider's documents are read-only.
    const document = await vscode.workspace.openTextDocument(podYamlUri(summary.id, summary.name));
    await vscode.window.showTextDocument(document, { preview: true });
    return document.uri.toString();
  });
}

/**
 * The image config beside the config.json it produced (agent/oci/from-image.ts applies Docker's
 * rules: Entrypoint+Cmd → process.args, Env, WorkingDir → cwd, User → uid/gid, Labels → annotations).
 */
async function imageConfigDocument(lab: Lab, name: string): Promise<ImageConfigDocument> {
  try {
    const details = await lab.client().call('image.inspect', { reference: name });
    return { name: details.familiarName, text: JSON.stringify({ architecture: details.architecture, os: details.os, config: details.config }, null, 2) };
  } catch {
    return { name, text: null };
  }
}

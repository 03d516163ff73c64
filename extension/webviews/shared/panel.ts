/*
 * Opening, reusing and restoring webview panels.
 *
 * Every webview kind (anatomy, manifests, topology) has a viewType. A panel is keyed (the
 * topology has one key; anatomy and manifests one per container), so "show" reveals the panel
 * already open for that key instead of stacking copies. After a window reload VS Code asks the
 * registered serializer to revive each panel from the state its page saved (savePageState), so
 * panels come back where they were, still following the lab.
 */
import * as vscode from 'vscode';
import type { Lab } from '../../lab';
import { webviewHtml, webviewOptions } from './webview-html';

export interface PanelKind<S> {
  /** VS Code's id for the panel type; also `onWebviewPanel:<viewType>` activates the extension. */
  viewType: string;
  /** The webview folder (extension/webviews/<name>) whose bundle the page loads. */
  name: string;
  /** Which panel a state belongs to: same key → same panel. */
  key(state: S): string;
  title(state: S): string;
  /** Wires a panel (new or revived) to the lab: messages in, updates out; returns what to dispose with it. */
  attach(lab: Lab, panel: vscode.WebviewPanel, state: S): vscode.Disposable;
}

const openPanels = new Map<string, vscode.WebviewPanel>();

export function showPanel<S>(lab: Lab, kind: PanelKind<S>, state: S, column: vscode.ViewColumn = vscode.ViewColumn.Active): vscode.WebviewPanel {
  const id = `${kind.viewType}:${kind.key(state)}`;
  const existing = openPanels.get(id);
  if (existing) {
    existing.reveal(column);
    return existing;
  }
  const panel = vscode.window.createWebviewPanel(kind.viewType, kind.title(state), column, webviewOptions(lab.context.extensionUri));
  adopt(lab, kind, panel, state);
  return panel;
}

/** Registers the kind's serializer: VS Code hands back panels (with their saved state) after a reload. */
export function registerPanelKind<S>(lab: Lab, kind: PanelKind<S>): void {
  lab.context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(kind.viewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, saved: unknown) {
        if (saved === undefined || saved === null) {
          panel.dispose(); // nothing to restore from
          return;
        }
        panel.webview.options = webviewOptions(lab.context.extensionUri);
        adopt(lab, kind, panel, saved as S);
      },
    }),
  );
}

function adopt<S>(lab: Lab, kind: PanelKind<S>, panel: vscode.WebviewPanel, state: S): void {
  const id = `${kind.viewType}:${kind.key(state)}`;
  openPanels.set(id, panel);
  panel.title = kind.title(state);
  panel.iconPath = vscode.Uri.joinPath(lab.context.extensionUri, 'resources', 'containers-lab.svg');
  panel.webview.html = webviewHtml(panel.webview, lab.context.extensionUri, { name: kind.name, title: kind.title(state), initialState: state });
  const attached = kind.attach(lab, panel, state);
  panel.onDidDispose(() => {
    attached.dispose();
    if (openPanels.get(id) === panel) openPanels.delete(id);
  });
}

/** The panels open now for a kind (tests and the benchmark find them through the extension's API). */
export function openPanelsOf(viewType: string): vscode.WebviewPanel[] {
  return [...openPanels.entries()].filter(([id]) => id.startsWith(`${viewType}:`)).map(([, panel]) => panel);
}

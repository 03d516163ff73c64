/*
 * The Live Topology panel, extension side: one panel for the lab host, fed by LiveTopology
 * (./live-topology.ts) with graph diffs, and answering the page's clicks (reveal a node in the
 * sidebar) and exports (save the picture the page drew).
 *
 * Commands: "Show Topology", "Show in Topology" (a container's context menu: the panel focused on
 * it), "Export Topology as SVG" / "as PNG" (a save dialog; the page draws, the extension writes).
 */
import { writeFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { registerLabCommand } from '../../commands/register';
import { resolveContainer } from '../../commands/resolve-container';
import type { Lab } from '../../lab';
import { openPanelsOf, registerPanelKind, showPanel, type PanelKind } from '../shared/panel';
import { LiveTopology } from './live-topology';
import type { ExportFormat, FromPage, ToPage, TopologyState } from './messages';
import { containerNodeId, graphAsDiff, type RevealTarget } from './model';

export const TOPOLOGY_VIEW_TYPE = 'containersLab.topology';
const EXPORT_TIMEOUT_MS = 30_000;

export const topologyPanel: PanelKind<TopologyState> = {
  viewType: TOPOLOGY_VIEW_TYPE,
  name: 'topology',
  key: () => 'lab',
  title: () => 'Live Topology',
  attach: (lab, panel) => new TopologyPanel(lab, panel),
};

/** The panel objects alive now, by their webview panel (for commands aimed at "the" topology). */
const attached = new Map<vscode.WebviewPanel, TopologyPanel>();

class TopologyPanel implements vscode.Disposable {
  private readonly live: LiveTopology;
  private pageReady = false;
  private readonly pendingExports = new Map<ExportFormat, { resolve: (data: string) => void; reject: (error: Error) => void }>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly lab: Lab,
    private readonly panel: vscode.WebviewPanel,
  ) {
    this.live = new LiveTopology(lab, {
      diff: (diff, reset, notifiedAt) => {
        if (this.pageReady) void this.post({ type: 'diff', diff, reset, timing: { notifiedAt, sentAt: Date.now() } });
      },
      status: (text) => {
        if (this.pageReady) void this.post({ type: 'status', text });
      },
    });
    this.disposables.push(panel.webview.onDidReceiveMessage((message: FromPage) => void this.receive(message)));
    attached.set(panel, this);
    void this.live.load();
  }

  private async receive(message: FromPage): Promise<void> {
    switch (message.type) {
      case 'ready':
        // A (re)loaded page: the whole graph as one diff, then whatever comes.
        this.pageReady = true;
        void this.post({ type: 'diff', diff: graphAsDiff(this.live.current()), reset: true });
        if (this.lab.connection.state !== 'connected') void this.post({ type: 'status', text: 'Not connected to a lab host.' });
        break;
      case 'reveal':
        await this.reveal(message.target, message.label);
        break;
      case 'exported':
        this.pendingExports.get(message.format)?.resolve(message.data);
        break;
      case 'exportFailed':
        this.pendingExports.get(message.format)?.reject(new Error(message.message));
        break;
      case 'requestExport':
        await vscode.commands.executeCommand(message.format === 'svg' ? 'containersLab.exportTopologySvg' : 'containersLab.exportTopologyPng');
        break;
      case 'connect':
        await this.lab.ensureConnected().catch(() => undefined);
        break;
    }
  }

  /** Selects the node in the sidebar: a container (or its process) in Containers, a bridge or veth in Networks. */
  private async reveal(target: RevealTarget, label: string): Promise<void> {
    if (target.view === 'containers') {
      await vscode.commands.executeCommand('containersLab.containers.focus');
      await this.lab.containers.reveal(target.containerId);
      return;
    }
    if (target.view === 'networks') {
      await vscode.commands.executeCommand('containersLab.networks.focus');
      if (await this.lab.networks.reveal(target.link, target.netns)) return;
      // Not a bridge or veth (lo, a device, a --net none namespace): show whose namespace it is.
      const owner = this.live.containers().find((container) => container.netns === target.netns);
      if (owner) {
        await vscode.commands.executeCommand('containersLab.containers.focus');
        await this.lab.containers.reveal(owner.id);
        return;
      }
    }
    vscode.window.setStatusBarMessage(`${label}: not shown in the sidebar (the Networks view lists bridges and veth pairs)`, 4000);
  }

  focus(node: string): void {
    if (this.pageReady) void this.post({ type: 'focus', node });
  }

  /** Asks the page for the picture; resolves with SVG text or PNG base64. */
  exportPicture(format: ExportFormat): Promise<string> {
    this.pendingExports.get(format)?.reject(new Error('superseded by a newer export'));
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => finish(() => reject(new Error('the topology page did not answer (is the panel visible?)'))), EXPORT_TIMEOUT_MS);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.pendingExports.delete(format);
        settle();
      };
      this.pendingExports.set(format, { resolve: (data) => finish(() => resolve(data)), reject: (error) => finish(() => reject(error)) });
      void this.post({ type: 'export', format });
    });
  }

  private post(message: ToPage): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  dispose(): void {
    attached.delete(this.panel);
    this.live.dispose();
    for (const pending of this.pendingExports.values()) pending.reject(new Error('the topology panel was closed'));
    for (const disposable of this.disposables) disposable.dispose();
  }
}

/** The topology panel, opened (or brought to the front). */
function showTopology(lab: Lab, focus?: string): TopologyPanel {
  const panel = showPanel(lab, topologyPanel, focus ? { focus } : {});
  const topology = attached.get(panel)!;
  if (focus) topology.focus(focus);
  return topology;
}

async function exportTopology(lab: Lab, format: ExportFormat, target?: unknown): Promise<string | undefined> {
  await lab.ensureConnected();
  const [existing] = openPanelsOf(TOPOLOGY_VIEW_TYPE);
  if (existing) existing.reveal(undefined, true);
  const topology = existing ? attached.get(existing)! : showTopology(lab);
  const data = await topology.exportPicture(format);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const uri =
    typeof target === 'string'
      ? vscode.Uri.file(target)
      : await vscode.window.showSaveDialog({
          title: `Export Topology as ${format.toUpperCase()}`,
          defaultUri: folder ? vscode.Uri.joinPath(folder, `topology.${format}`) : undefined,
          filters: format === 'svg' ? { 'SVG image': ['svg'] } : { 'PNG image': ['png'] },
        });
  if (!uri) return undefined;
  const bytes = format === 'svg' ? Buffer.from(data, 'utf8') : Buffer.from(data, 'base64');
  if (uri.scheme === 'file') await writeFile(uri.fsPath, bytes);
  else await vscode.workspace.fs.writeFile(uri, bytes);
  vscode.window.setStatusBarMessage(`Topology saved to ${uri.scheme === 'file' ? uri.fsPath : uri.toString()}`, 5000);
  return uri.scheme === 'file' ? uri.fsPath : uri.toString();
}

/** Opens the topology focused on one container (the command containersLab.showInTopology runs this). */
export async function showContainerInTopology(lab: Lab, argument?: unknown): Promise<string> {
  await lab.ensureConnected();
  const summary = await resolveContainer(lab, argument, { placeHolder: 'Show which container?', none: 'There are no containers.', takeSingle: true });
  showTopology(lab, containerNodeId(summary.id));
  return summary.id;
}

/** "Show Topology", "Export Topology as SVG/PNG", and the serializer that revives the panel after a reload. */
export function registerTopologyWebview(lab: Lab): void {
  registerPanelKind(lab, topologyPanel);
  registerLabCommand(lab, 'containersLab.showTopology', async () => {
    await lab.ensureConnected();
    showTopology(lab);
  });
  registerLabCommand(lab, 'containersLab.exportTopologySvg', (target?: unknown) => exportTopology(lab, 'svg', target));
  registerLabCommand(lab, 'containersLab.exportTopologyPng', (target?: unknown) => exportTopology(lab, 'png', target));
}

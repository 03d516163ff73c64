/*
 * The Container Anatomy panel, extension side: one panel per container, showing the kernel objects
 * it is made of (see view/main.ts for the page).
 *
 * While the panel is visible it asks the agent for the container's record about once a second
 * (container.inspect reads the cgroup's counters fresh each time) and keeps the usage samples for
 * the charts; hidden or closed, it asks nothing. Status changes and removal arrive as agent
 * notifications and are passed on at once. A removed container's page keeps showing the last record
 * taken while it ran — how it was — rather than empty sections.
 */
import * as vscode from 'vscode';
import { RpcErrorCode, type ContainerRecord } from '../../../agent/protocol';
import { RpcError } from '../../../agent/service/jsonrpc';
import { registerLabCommand } from '../../commands/register';
import { resolveContainer } from '../../commands/resolve-container';
import { registerTryWithoutCommand, TRY_WITHOUT_COMMAND } from '../../commands/try-without';
import type { Lab } from '../../lab';
import { registerPanelKind, showPanel, type PanelKind } from '../shared/panel';
import type { AnatomyState, FromPage, ToPage } from './messages';
import { UsageHistory } from './usage-history';

export const ANATOMY_VIEW_TYPE = 'containersLab.anatomy';
const SAMPLE_INTERVAL_MS = 1_000;

export const anatomyPanel: PanelKind<AnatomyState> = {
  viewType: ANATOMY_VIEW_TYPE,
  name: 'anatomy',
  key: (state) => state.id,
  title: (state) => `Anatomy: ${state.name}`,
  attach: (lab, panel, state) => new AnatomyPanel(lab, panel, state),
};

class AnatomyPanel implements vscode.Disposable {
  private readonly history = new UsageHistory();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private removed = false;
  private lastRecord: ContainerRecord | undefined;
  /** The last record taken while the container ran: what a removed container's page shows. */
  private lastLiveRecord: ContainerRecord | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly lab: Lab,
    private readonly panel: vscode.WebviewPanel,
    private readonly state: AnatomyState,
  ) {
    this.disposables.push(
      panel.webview.onDidReceiveMessage((message: FromPage) => void this.receive(message)),
      panel.onDidChangeViewState(() => this.followVisibility()),
      lab.onNotification('container.changed', (change) => {
        if (change.id === state.id) void this.sample();
      }),
      lab.onNotification('container.removed', (removal) => {
        if (removal.id === state.id) this.markRemoved();
      }),
    );
    const offState = lab.connection.on('state', (connection) => {
      void this.post({ type: 'connection', connected: connection === 'connected' });
      if (connection === 'connected') void this.sample();
    });
    this.disposables.push({ dispose: offState });
    this.followVisibility();
  }

  private async receive(message: FromPage): Promise<void> {
    switch (message.type) {
      case 'ready':
        // A (re)loaded page: give it what we have, then a fresh sample.
        this.layersSent = false;
        if (this.removed) void this.postRemoved();
        else if (this.lastRecord) void this.post({ type: 'record', record: this.lastRecord, history: this.history.list() });
        if (this.lab.connection.state !== 'connected') void this.post({ type: 'connection', connected: false });
        void this.sample();
        break;
      case 'pathLayer':
        try {
          const result = await this.lab.client().call('container.pathLayer', { id: this.state.id, path: message.path });
          void this.post({ type: 'pathLayer', result });
        } catch (error) {
          void this.post({ type: 'pathLayerError', path: message.path, message: error instanceof Error ? error.message : String(error) });
        }
        break;
      case 'connect':
        await this.lab.ensureConnected().catch(() => undefined);
        break;
      case 'openManifests':
        await vscode.commands.executeCommand('containersLab.showManifests', this.state.id);
        break;
      case 'tryWithout':
        try {
          await vscode.commands.executeCommand(TRY_WITHOUT_COMMAND, this.state.id, message.protection);
        } finally {
          void this.post({ type: 'tryDone' });
        }
        break;
    }
  }

  /** Samples only while the panel can be seen: a hidden panel has no page to draw on. */
  private followVisibility(): void {
    if (this.panel.visible && !this.removed) {
      this.timer ??= setInterval(() => void this.sample(), SAMPLE_INTERVAL_MS);
    } else if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async sample(): Promise<void> {
    if (this.inFlight || this.removed || this.lab.connection.state !== 'connected' || !this.lab.connection.client) return;
    this.inFlight = true;
    try {
      const record = await this.lab.connection.client.call('container.inspect', { id: this.state.id });
      if (this.removed) return;
      if (record.cgroup?.usage && record.status !== 'stopped') this.history.add(record.cgroup.usage, Date.now());
      void this.postLayers(record);
      this.lastRecord = record;
      // A record taken while a forced removal kills the processes still says "running" but shows none.
      if ((record.status === 'running' || record.status === 'paused') && record.processes.length > 0 && record.security !== null) this.lastLiveRecord = record;
      void this.post({ type: 'record', record, history: this.history.list() });
    } catch (error) {
      if (error instanceof RpcError && error.code === RpcErrorCode.NotFound) this.markRemoved();
      // Anything else (a dropped link) is followed by a state change; the next sample retries.
    } finally {
      this.inFlight = false;
    }
  }

  /** The layer stack, once per page load (a container's layers never change). */
  private layersSent = false;

  private async postLayers(record: ContainerRecord): Promise<void> {
    if (this.layersSent || !record.rootfs || !this.lab.connection.client) return;
    this.layersSent = true;
    try {
      void this.post({ type: 'layers', layers: await this.lab.connection.client.call('container.layers', { id: this.state.id }) });
    } catch {
      this.layersSent = false; // an older agent, or a dropped link: the next sample tries again
    }
  }

  private markRemoved(): void {
    this.removed = true;
    this.followVisibility();
    void this.postRemoved();
  }

  private postRemoved(): Thenable<boolean> {
    const record = this.lastLiveRecord ?? this.lastRecord;
    return this.post({ type: 'removed', name: this.state.name, ...(record ? { record, history: this.history.list() } : {}) });
  }

  private post(message: ToPage): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const disposable of this.disposables) disposable.dispose();
  }
}

/** "Show Container Anatomy": the command and the serializer that revives panels after a reload. */
export function registerAnatomyWebview(lab: Lab): void {
  registerPanelKind(lab, anatomyPanel);
  registerTryWithoutCommand(lab, (summary, column) => showPanel(lab, anatomyPanel, { id: summary.id, name: summary.name }, column));
  registerLabCommand(lab, 'containersLab.showAnatomy', async (argument?: unknown) => {
    await lab.ensureConnected();
    const summary = await resolveContainer(lab, argument, { placeHolder: 'Show the anatomy of which container?', none: 'There are no containers.', takeSingle: true });
    showPanel(lab, anatomyPanel, { id: summary.id, name: summary.name });
    return summary.id;
  });
}

/*
 * The status-bar item: which lab host, and whether we are connected. Clicking it connects when
 * disconnected and disconnects when connected (or connecting).
 */
import * as vscode from 'vscode';
import type { ConnectionState, LabTarget } from './connection/types';

const ICONS: Record<ConnectionState, string> = {
  disconnected: '$(debug-disconnect)',
  connecting: '$(sync~spin)',
  bootstrapping: '$(sync~spin)',
  connected: '$(vm-active)',
  reconnecting: '$(sync~spin)',
  failed: '$(error)',
};

export class LabStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('containersLab.status', vscode.StatusBarAlignment.Left, 50);

  constructor() {
    this.item.name = 'Containers Lab';
    this.update(null, 'disconnected');
    this.item.show();
  }

  update(target: LabTarget | null, state: ConnectionState, detail?: string): void {
    const where = target ? target.label : 'Containers Lab';
    this.item.text = state === 'connected' ? `${ICONS[state]} ${where}` : `${ICONS[state]} ${where}: ${state}`;
    // "failed" keeps trying by itself (connection/retry.ts) unless the detail says why it cannot.
    const action = state === 'disconnected' ? 'Click to connect.' : state === 'failed' ? 'Click to try again now.' : 'Click to disconnect.';
    this.item.tooltip = `Containers Lab — ${target ? `${target.kind}: ${target.label}` : 'no lab host'}\nState: ${state}${detail ? ` (${detail})` : ''}\n${action}`;
    this.item.command = state === 'disconnected' || state === 'failed' ? 'containersLab.connect' : 'containersLab.disconnect';
    this.item.backgroundColor = state === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}

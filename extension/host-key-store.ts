/*
 * Host-key pins kept in VS Code's globalState: the extension's side of the connection layer's
 * HostKeyStore (extension/connection/host-keys.ts explains the pinning). globalState is per user
 * and per machine running the extension host, survives restarts, and is not synced by Settings
 * Sync unless asked — a pin is a fact about what this machine has seen, so it stays local.
 */
import type * as vscode from 'vscode';
import type { HostKeyStore } from './connection/host-keys';

const PINS_KEY = 'containersLab.hostKeyPins';

export class GlobalStateHostKeyStore implements HostKeyStore {
  constructor(private readonly state: vscode.Memento) {}

  async get(hostPort: string): Promise<string | undefined> {
    return this.all()[hostPort];
  }

  async set(hostPort: string, fingerprint: string): Promise<void> {
    await this.state.update(PINS_KEY, { ...this.all(), [hostPort]: fingerprint });
  }

  async delete(hostPort: string): Promise<void> {
    const pins = this.all();
    delete pins[hostPort];
    await this.state.update(PINS_KEY, pins);
  }

  describeReset(hostPort: string): string {
    return `run "Containers Lab: Forget Host Key…" and choose ${hostPort}`;
  }

  /** Every pin, host:port → fingerprint. */
  all(): Record<string, string> {
    return { ...this.state.get<Record<string, string>>(PINS_KEY, {}) };
  }
}

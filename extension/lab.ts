/*
 * The extension's shared state, handed to every command: the connection, the container store,
 * the views' providers and the output channel. Created once by activate().
 */
import type * as vscode from 'vscode';
import type { AgentNotification, AgentNotifications } from '../agent/protocol';
import type { AgentClient } from '../agent/service/client';
import type { LabConnection } from './connection/types';
import type { GlobalStateHostKeyStore } from './host-key-store';
import type { LabOutput } from './output';
import type { ContainerStore } from './views/containers/container-store';
import type { ContainersProvider } from './views/containers/containers-provider';
import type { NetworksProvider } from './views/networks/networks-provider';

export interface Lab {
  readonly context: vscode.ExtensionContext;
  readonly connection: LabConnection;
  readonly store: ContainerStore;
  readonly containers: ContainersProvider;
  readonly networks: NetworksProvider;
  readonly output: LabOutput;
  readonly hostKeys: GlobalStateHostKeyStore;
  /** The agent client, or an error telling the user to connect first. */
  client(): AgentClient;
  /** Runs the Connect flow first when not connected; rejects when that fails or is cancelled. */
  ensureConnected(): Promise<AgentClient>;
  /** One kind of agent notification, from whichever client is current (it changes on reconnect). */
  onNotification<N extends AgentNotification>(name: N, listener: (params: AgentNotifications[N]) => void): vscode.Disposable;
}

/** Thrown when a command needs a connection and there is none; shown as is. */
export class NotConnectedError extends Error {
  constructor() {
    super('Not connected to a lab host: run "Containers Lab: Connect" first.');
    this.name = 'NotConnectedError';
  }
}

/*
 * What the rest of the extension knows about a connection to a lab host. Nothing here imports
 * 'vscode': the connection layer runs (and is tested) in plain Node; the views adapt its events.
 */
import type { AgentClient } from '../../agent/service/client';
import type { AgentInfo } from '../../agent/protocol';

/** Where the lab runs and how it was found. */
export type TargetKind = 'vagrant' | 'settings' | 'ssh-config' | 'local';

export interface LabTarget {
  kind: TargetKind;
  /** What the user sees: "lab VM (vagrant: default)", "root@127.0.0.1:2222", "this machine". */
  label: string;
  /** SSH targets. */
  host?: string;
  port?: number;
  username?: string;
  privateKeyPath?: string;
  /** Local target: the agent's Unix socket on this machine. */
  socketPath?: string;
}

export type ConnectionState = 'disconnected' | 'connecting' | 'bootstrapping' | 'connected' | 'reconnecting' | 'failed';

/** Asked once per new host key; the answer is pinned (TOFU). A changed key is refused without asking. */
export type HostKeyPrompt = (target: LabTarget, fingerprint: string) => Promise<boolean>;

export interface ConnectionEvents {
  state: [ConnectionState, string | undefined];
  /** Every agent notification, re-emitted (container.changed, link.changed, exec.output, …). */
  notification: [string, unknown];
  /** A line for the output channel. */
  log: [string];
}

export interface LabConnection {
  readonly target: LabTarget | null;
  readonly state: ConnectionState;
  /** The typed JSON-RPC client while connected (it changes on reconnect: always read it fresh). */
  readonly client: AgentClient | null;
  readonly info: AgentInfo | null;
  on<E extends keyof ConnectionEvents>(event: E, listener: (...args: ConnectionEvents[E]) => void): () => void;
  connect(target: LabTarget): Promise<void>;
  disconnect(): Promise<void>;
  /**
   * A root shell on the lab host over the current SSH link, on a pty of this size (through sudo
   * for a user that is not root), with `containers-lab` on PATH reaching this connection's agent
   * (./host-terminal.ts); null when the lab host is this machine or there is no link.
   */
  openHostTerminal(window: { cols: number; rows: number }, options?: HostTerminalOptions): Promise<HostTerminal | null>;
  /** Where a lab shell starts and which agent its `containers-lab` reaches (for a terminal on this machine). */
  labShellSetup(options?: HostTerminalOptions): LabShellSetup;
}

export interface HostTerminalOptions {
  /** The directory the shell starts in, e.g. an exercise's answer folder (made when missing). */
  cwd?: string;
}

/** Where a lab shell starts, and which agent its `containers-lab` talks to. */
export interface LabShellSetup {
  /** The directory the shell starts in (made when missing); the login directory when absent. */
  cwd?: string;
  socketPath: string;
  /** The agent's state root (agent.info), for a CLI that finds no agent and works by itself. */
  stateRoot?: string;
}

/** The remote end of a host terminal: bytes both ways, a window size, and its end. */
export interface HostTerminal {
  write(data: string): void;
  resize(cols: number, rows: number): void;
  onData(listener: (data: Buffer) => void): void;
  onClose(listener: (code: number | null) => void): void;
  close(): void;
}

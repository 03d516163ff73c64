/*
 * "Open Shell in Container": a VS Code terminal whose other end is a shell the agent runs inside
 * the container's namespaces and cgroup, on a pseudo-terminal (pty) in the lab host.
 *
 * A pty is the kernel's terminal emulation pair: the shell reads and writes the terminal side as
 * if it were a console; the agent holds the other side and relays bytes over JSON-RPC —
 * exec.start {tty:true, cols, rows} creates it, our keystrokes go as exec.input, its output
 * comes back as exec.output notifications, and exec.resize sets the window size (TIOCSWINSZ), so
 * the kernel sends the shell SIGWINCH and full-screen programs redraw. VS Code's side is a
 * Pseudoterminal: it gives us keystrokes and dimensions and renders what we write.
 */
import * as vscode from 'vscode';
import type { AgentClient } from '../../agent/service/client';
import type { Lab } from '../lab';
import { errorMessage } from '../output';
import { isEndedStatus, ShellEndArbiter, type ShellEnd } from './shell-exit';
import { Base64TextDecoder, encodeInput, shellEnvironment } from './terminal-text';
import { TypedAhead } from './typed-ahead';

export interface ShellOptions {
  containerId: string;
  containerName: string;
  args: string[];
  env: string[] | undefined;
}

export class ContainerShell implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidClose = this.closeEmitter.event;

  private client: AgentClient | null = null;
  private session: string | null = null;
  private ended = false;
  private readonly decoder = new Base64TextDecoder();
  /** Output that arrived before exec.start answered (kept in order, matched by session later). */
  private early: Array<{ session: string; data?: string; code?: number }> = [];
  /** What was typed (and the window size) before exec.start answered. */
  private readonly typedAhead = new TypedAhead();
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Tells a shell killed with its container (quiet close) from one that exited on its own. */
  private readonly ending = new ShellEndArbiter((end) => this.finished(end));

  constructor(
    private readonly lab: Lab,
    private readonly options: ShellOptions,
  ) {}

  open(dimensions: vscode.TerminalDimensions | undefined): void {
    this.subscriptions.push(
      this.lab.onNotification('exec.output', ({ session, data }) => {
        if (this.session === null) this.early.push({ session, data });
        else if (session === this.session) this.writeEmitter.fire(this.decoder.decode(data));
      }),
      this.lab.onNotification('exec.exit', ({ session, code }) => {
        if (this.session === null) this.early.push({ session, code });
        else if (session === this.session) this.exited(code);
      }),
      this.lab.onNotification('container.changed', ({ id, status }) => {
        if (id === this.options.containerId && isEndedStatus(status)) this.ending.containerEnded('stopped');
      }),
      this.lab.onNotification('container.removed', ({ id }) => {
        if (id === this.options.containerId) this.ending.containerEnded('removed');
      }),
    );
    const onState = this.lab.connection.on('state', (state) => {
      if (state !== 'connected' && !this.ended) this.end('the connection to the lab host was lost; this shell session has ended');
    });
    this.subscriptions.push({ dispose: onState });
    void this.start(dimensions);
  }

  private async start(dimensions: vscode.TerminalDimensions | undefined): Promise<void> {
    try {
      this.client = this.lab.client();
      const { session } = await this.client.call(
        'exec.start',
        {
          id: this.options.containerId,
          args: this.options.args,
          tty: true,
          cols: dimensions?.columns ?? 80,
          rows: dimensions?.rows ?? 24,
          env: shellEnvironment(this.options.env),
        },
        { timeoutMs: 30_000 },
      );
      this.session = session;
      this.lab.output.info(`shell in ${this.options.containerName}: exec session ${session}`);
      if (this.ended) {
        // the terminal was closed while the shell was starting: end the shell too
        this.client.call('exec.close', { session }).catch(() => undefined);
        return;
      }
      for (const entry of this.early.filter((early) => early.session === session)) {
        if (entry.data !== undefined) this.writeEmitter.fire(this.decoder.decode(entry.data));
        if (entry.code !== undefined) this.exited(entry.code);
      }
      this.early = [];
      // what was typed while it started, in order (one connection keeps the order of calls);
      // nothing if it has already exited
      this.typedAhead.flush((data) => this.handleInput(data), (dimensions) => this.setDimensions(dimensions));
    } catch (error) {
      this.lab.output.error(`cannot open a shell in ${this.options.containerName}`, error);
      this.end(`cannot open a shell in ${this.options.containerName}: ${errorMessage(error)}`);
    }
  }

  handleInput(data: string): void {
    if (this.ended) return;
    if (!this.session || !this.client) {
      this.typedAhead.key(data);
      return;
    }
    this.client.call('exec.input', { session: this.session, data: encodeInput(data) }).catch((error: unknown) => this.lab.output.error('exec.input', error));
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    if (this.ended) return;
    if (!this.session || !this.client) {
      this.typedAhead.resize(dimensions);
      return;
    }
    this.client
      .call('exec.resize', { session: this.session, cols: dimensions.columns, rows: dimensions.rows })
      .catch((error: unknown) => this.lab.output.error('exec.resize', error));
  }

  /** The user closed the terminal: end the shell in the container too. */
  close(): void {
    if (!this.ended && this.session && this.client && !this.client.closed) {
      this.client.call('exec.close', { session: this.session }).catch(() => undefined);
    }
    this.ended = true;
    this.ending.dispose();
    this.dispose();
  }

  private exited(code: number): void {
    if (this.ended) return;
    // No more input or resizes for a session that is gone; keep listening for the container's news.
    this.ended = true;
    this.ending.shellExited(code);
  }

  private finished(end: ShellEnd): void {
    this.dispose();
    if (end.kind === 'exit') {
      this.closeEmitter.fire(end.code);
      return;
    }
    // The container's end killed the shell (SIGKILL, 137): not an error of the shell — close without a code.
    this.lab.output.info(`shell in ${this.options.containerName} closed: the container was ${end.how}`);
    this.closeEmitter.fire();
  }

  /** Keeps the terminal open with a last line, so what was on screen stays readable. */
  private end(message: string): void {
    this.ended = true;
    this.ending.dispose();
    this.writeEmitter.fire(`\r\n\x1b[2m[${message}]\x1b[0m\r\n`);
    this.dispose();
  }

  private dispose(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}

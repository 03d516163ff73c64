/*
 * "Show Logs": a read-only terminal that shows what the container's process has written to its
 * stdout/stderr (the agent keeps it in a log file) and then follows it — container.logs
 * {follow:true} answers with everything so far and sends each later chunk as a container.log
 * notification. A terminal rather than an output channel because containers write ANSI colours
 * and carriage returns that a terminal renders as intended.
 *
 * The agent keeps one follower per request for as long as the connection lives (there is no
 * "unfollow"), so the extension asks to follow each container once per connection and shares
 * that stream between its logs terminals.
 */
import * as vscode from 'vscode';
import type { Lab } from '../lab';
import { errorMessage } from '../output';
import { Base64TextDecoder, withCarriageReturns } from './terminal-text';

/** Containers already followed on the current connection (reset when it changes). */
const followed = new WeakMap<object, Set<string>>();

export class ContainerLogs implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private readonly decoder = new Base64TextDecoder();
  private readonly subscriptions: vscode.Disposable[] = [];
  private closed = false;

  constructor(
    private readonly lab: Lab,
    private readonly containerId: string,
    private readonly containerName: string,
  ) {}

  open(): void {
    void this.start();
  }

  private async start(): Promise<void> {
    try {
      const client = this.lab.client();
      let set = followed.get(client);
      if (!set) followed.set(client, (set = new Set()));
      const follow = !set.has(this.containerId);
      const { data } = await client.call('container.logs', { id: this.containerId, follow }, { timeoutMs: 30_000 });
      if (follow) set.add(this.containerId);
      if (this.closed) return;
      this.write(this.decoder.decode(data));
      this.subscriptions.push(
        this.lab.onNotification('container.log', ({ id, data: chunk }) => {
          if (id === this.containerId) this.write(this.decoder.decode(chunk));
        }),
        this.lab.onNotification('container.removed', ({ id }) => {
          if (id === this.containerId) this.note(`${this.containerName} was removed`);
        }),
      );
      const onState = this.lab.connection.on('state', (state) => {
        if (state !== 'connected') this.note('the connection to the lab host was lost; run Show Logs again after reconnecting');
      });
      this.subscriptions.push({ dispose: onState });
    } catch (error) {
      this.note(`cannot read the logs of ${this.containerName}: ${errorMessage(error)}`);
    }
  }

  handleInput(): void {
    // Read-only: the container's stdin is not this terminal.
  }

  close(): void {
    this.closed = true;
    this.dispose();
  }

  private write(text: string): void {
    if (text) this.writeEmitter.fire(withCarriageReturns(text));
  }

  private note(message: string): void {
    this.writeEmitter.fire(`\r\n\x1b[2m[${message}]\x1b[0m\r\n`);
    this.dispose();
  }

  private dispose(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}

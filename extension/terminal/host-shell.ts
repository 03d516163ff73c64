/*
 * "Lab host" terminal: a root shell on the lab host itself (the VM), where the learner types
 * `containers-lab run …`, `nsenter`, `ip` — the place most exercises are solved. Over SSH it is
 * an interactive session on a pty (ssh2's shell, or `sudo -i` for the Vagrant user); VS Code's
 * side is a Pseudoterminal that relays keystrokes, output and window size.
 */
import * as vscode from 'vscode';
import type { HostTerminal } from '../connection/types';
import type { Lab } from '../lab';
import { errorMessage } from '../output';
import { TypedAhead } from './typed-ahead';

export class HostShell implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidClose = this.closeEmitter.event;
  private remote: HostTerminal | null = null;
  private closed = false;
  /** What was typed (and the window size) before the shell was open. */
  private readonly typedAhead = new TypedAhead();
  private readonly decoder = new TextDecoder();

  constructor(private readonly lab: Lab) {}

  open(dimensions: vscode.TerminalDimensions | undefined): void {
    void this.start(dimensions);
  }

  private async start(dimensions: vscode.TerminalDimensions | undefined): Promise<void> {
    try {
      const remote = await this.lab.connection.openHostTerminal({ cols: dimensions?.columns ?? 80, rows: dimensions?.rows ?? 24 });
      if (!remote) throw new Error('there is no SSH link to the lab host');
      if (this.closed) {
        // the terminal was closed while the shell was opening
        remote.close();
        return;
      }
      this.remote = remote;
      remote.onData((data) => this.writeEmitter.fire(this.decoder.decode(data, { stream: true })));
      remote.onClose((code) => {
        this.remote = null;
        this.closed = true;
        this.closeEmitter.fire(code ?? undefined);
      });
      this.typedAhead.flush((data) => remote.write(data), (dimensions) => remote.resize(dimensions.columns, dimensions.rows));
    } catch (error) {
      this.lab.output.error('cannot open a shell on the lab host', error);
      this.writeEmitter.fire(`\r\ncannot open a shell on the lab host: ${errorMessage(error)}\r\n`);
      this.closeEmitter.fire(1);
    }
  }

  handleInput(data: string): void {
    if (this.remote) this.remote.write(data);
    else if (!this.closed) this.typedAhead.key(data);
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    if (this.remote) this.remote.resize(dimensions.columns, dimensions.rows);
    else this.typedAhead.resize(dimensions);
  }

  close(): void {
    this.closed = true;
    this.remote?.close();
    this.remote = null;
  }
}

/** Opens a "Lab host" terminal: a local one when the lab host is this machine, else over SSH. */
export function openHostShell(lab: Lab, name = 'Lab host'): vscode.Terminal {
  const terminal = lab.connection.target?.kind === 'local'
    ? vscode.window.createTerminal({ name, iconPath: new vscode.ThemeIcon('terminal') })
    : vscode.window.createTerminal({ name, pty: new HostShell(lab), iconPath: new vscode.ThemeIcon('vm') });
  terminal.show();
  return terminal;
}

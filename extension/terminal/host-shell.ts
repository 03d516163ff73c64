/*
 * "Lab host" terminal: a root shell on the lab host itself (this machine, or the VM), where the
 * learner types `containers-lab run …`, `nsenter`, `ip` — the place exercises are solved. Inside
 * a container there is no `containers-lab`, NSpid shows only 1 and the answer folder does not
 * exist, so a level that asks for any of those cannot be done there.
 *
 * Both kinds get the same set-up (connection/host-terminal.ts): `containers-lab` first on PATH,
 * reaching the agent this window is connected to, and — for an exercise — the answer folder as
 * the working directory.
 *   - this machine (target "local"): VS Code's own terminal, with that cwd and environment; the
 *     `containers-lab` script runs the agent build inside this extension;
 *   - over SSH: a Pseudoterminal relaying keystrokes, output and window size to an interactive
 *     shell on a pty there.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import * as vscode from 'vscode';
import { cliShimScript, labShellEnvironment } from '../connection/host-terminal';
import type { HostTerminal, HostTerminalOptions, LabShellSetup } from '../connection/types';
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

  constructor(
    private readonly lab: Lab,
    private readonly options: HostTerminalOptions = {},
  ) {}

  open(dimensions: vscode.TerminalDimensions | undefined): void {
    this.writeEmitter.fire(greeting(this.lab.connection.labShellSetup(this.options)));
    void this.start(dimensions);
  }

  private async start(dimensions: vscode.TerminalDimensions | undefined): Promise<void> {
    try {
      const remote = await this.lab.connection.openHostTerminal({ cols: dimensions?.columns ?? 80, rows: dimensions?.rows ?? 24 }, this.options);
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

/**
 * Opens a "Lab host" terminal: a local one when the lab host is this machine, else over SSH.
 * `options.cwd`: the folder it starts in (an exercise's answer folder).
 */
export function openHostShell(lab: Lab, name = 'Lab host', options: HostTerminalOptions = {}): vscode.Terminal {
  const terminal = lab.connection.target?.kind === 'local'
    ? localHostTerminal(lab, name, options)
    : vscode.window.createTerminal({ name, pty: new HostShell(lab, options), iconPath: new vscode.ThemeIcon('vm') });
  terminal.show();
  return terminal;
}

function localHostTerminal(lab: Lab, name: string, options: HostTerminalOptions): vscode.Terminal {
  const setup = lab.connection.labShellSetup(options);
  let cwd: string | undefined;
  if (setup.cwd) {
    try {
      mkdirSync(setup.cwd, { recursive: true });
      cwd = setup.cwd;
    } catch (error) {
      lab.output.error(`cannot make the folder ${setup.cwd}; the terminal starts in the default one`, error);
    }
  }
  let env: Record<string, string> | undefined;
  try {
    env = labShellEnvironment(writeLocalShim(lab), setup, process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin');
  } catch (error) {
    lab.output.error('cannot put containers-lab on the terminal\'s PATH', error);
  }
  return vscode.window.createTerminal({ name, cwd, env, message: greeting(setup).trimEnd(), iconPath: new vscode.ThemeIcon('terminal') });
}

/** Writes <global storage>/bin/containers-lab (this extension's agent build) and returns its folder. */
function writeLocalShim(lab: Lab): string {
  const dir = join(lab.context.globalStorageUri.fsPath, 'bin');
  mkdirSync(dir, { recursive: true });
  const target = join(dir, 'containers-lab');
  const script = cliShimScript(nodeOnPath() ?? (basename(process.execPath) === 'node' ? process.execPath : 'node'), lab.context.asAbsolutePath(join('dist', 'agent', 'containers-lab.js')));
  // Beside, then renamed into place: a shell running the old script never reads half a file.
  writeFileSync(`${target}.new`, script);
  chmodSync(`${target}.new`, 0o755);
  renameSync(`${target}.new`, target);
  return dir;
}

/** The `node` a shell here would run (the extension host itself may be Electron, not Node.js). */
function nodeOnPath(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'node'))) return join(dir, 'node');
  }
  return null;
}

/** The terminal's first line: where it is and which agent `containers-lab` reaches. */
function greeting(setup: LabShellSetup): string {
  const where = setup.cwd ? `in ${setup.cwd} (the answer folder)` : 'on the lab host';
  return `\x1b[2mLab host terminal ${where}; containers-lab here talks to the agent at ${setup.socketPath}.\x1b[0m\r\n`;
}

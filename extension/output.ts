/*
 * The "Containers Lab" output channel: what the extension did and why it failed, in one place
 * ("Containers Lab: Show Output"). The connection layer's log lines (ssh, bootstrap, reconnects)
 * land here too, so a failed connect can be diagnosed without a debugger.
 */
import * as vscode from 'vscode';

export class LabOutput implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;

  constructor() {
    this.channel = vscode.window.createOutputChannel('Containers Lab', { log: true });
  }

  info(message: string): void {
    this.channel.info(message);
  }

  warn(message: string): void {
    this.channel.warn(message);
  }

  error(message: string, error?: unknown): void {
    this.channel.error(error === undefined ? message : `${message}: ${errorMessage(error)}`);
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}

/** The one line to show for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

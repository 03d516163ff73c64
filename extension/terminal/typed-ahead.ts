/*
 * What a terminal is given before its shell is there. VS Code hands a Pseudoterminal keystrokes
 * and window sizes as soon as it opens, while the shell behind it is still starting (exec.start
 * in the container, or an SSH session on the lab host). Dropping them would lose what the learner
 * typed — or a command sent with sendText — so they are kept here and handed over in order once
 * the shell exists.
 */
import type * as vscode from 'vscode';

export class TypedAhead {
  private keys: string[] = [];
  private size: vscode.TerminalDimensions | null = null;

  key(data: string): void {
    this.keys.push(data);
  }

  /** Only the last size matters. */
  resize(dimensions: vscode.TerminalDimensions): void {
    this.size = dimensions;
  }

  /** Hands everything kept to the shell, once, in the order it came. */
  flush(write: (data: string) => void, resize: (dimensions: vscode.TerminalDimensions) => void): void {
    for (const data of this.keys.splice(0)) write(data);
    if (this.size) resize(this.size);
    this.size = null;
  }
}

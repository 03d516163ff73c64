/*
 * The agent's side of a running exec: the streams connected to the process's stdio and the
 * moment it ends. The exit is reported only after its output has been read to the end, so a
 * client never sees "exited" before the last line.
 */
import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { ReadStream } from 'node:tty';
import type { ExecSession } from '../api';
import { resizePty } from './terminal';

type OutputListener = (stream: 'stdout' | 'stderr', data: Buffer) => void;
type ExitListener = (code: number) => void;

export type ExecStdio =
  | { kind: 'terminal'; multiplexer: number }
  | { kind: 'pipes'; stdin: number; stdout: number; stderr: number };

export class RunningExec implements ExecSession {
  private readonly outputListeners: OutputListener[] = [];
  private readonly exitListeners: ExitListener[] = [];
  private readonly streams: (Socket | ReadStream)[] = [];
  private stdin: Socket | null = null;
  private openOutputs = 0;
  private exitCode: number | null = null;
  private finished = false;
  private readonly pending: { stream: 'stdout' | 'stderr'; data: Buffer }[] = [];
  /**
   * Whether the terminal's multiplexer is still open. Its stream closes the descriptor once the
   * terminal hangs up — when the program's last hold on the terminal goes, which can be before
   * the program's exit is collected (a program that closes its stdio and goes on, or simply the
   * usual order of events). From then on the number is no longer ours: writing to it would fail,
   * or land in whatever file the agent opened next under that number.
   */
  private terminalOpen: boolean;

  constructor(readonly id: string, readonly pid: number, private readonly stdio: ExecStdio) {
    this.terminalOpen = stdio.kind === 'terminal';
    if (stdio.kind === 'terminal') {
      const output = new ReadStream(stdio.multiplexer);
      // 'error' and 'end' come first: the stream closes the descriptor as it is destroyed, and
      // 'close' is emitted only a loop turn later
      for (const event of ['error', 'end', 'close']) output.on(event, () => (this.terminalOpen = false));
      this.follow(output, 'stdout');
    } else {
      this.stdin = new Socket({ fd: stdio.stdin, readable: false, writable: true });
      this.stdin.on('error', () => undefined);
      this.follow(new Socket({ fd: stdio.stdout, readable: true, writable: false }), 'stdout');
      this.follow(new Socket({ fd: stdio.stderr, readable: true, writable: false }), 'stderr');
    }
  }

  private follow(stream: Socket | ReadStream, name: 'stdout' | 'stderr'): void {
    this.openOutputs += 1;
    this.streams.push(stream);
    stream.on('data', (data: Buffer) => this.emitOutput(name, data));
    // A terminal's multiplexer reports EIO once the last process holding the terminal is gone.
    stream.on('error', () => undefined);
    stream.on('close', () => {
      this.openOutputs -= 1;
      this.maybeFinish();
    });
  }

  private emitOutput(stream: 'stdout' | 'stderr', data: Buffer): void {
    if (this.outputListeners.length === 0) this.pending.push({ stream, data });
    for (const listener of this.outputListeners) listener(stream, data);
  }

  /** Called by the runtime when the process has been reaped. */
  processExited(code: number): void {
    this.exitCode = code;
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.finished || this.exitCode === null || this.openOutputs > 0) return;
    this.finished = true;
    this.stdin?.destroy();
    for (const listener of this.exitListeners) listener(this.exitCode);
  }

  write(data: Buffer): void {
    if (this.stdio.kind === 'terminal') {
      if (this.terminalOpen) writeSync(this.stdio.multiplexer, data);
    } else {
      this.stdin?.write(data);
    }
  }

  resize(cols: number, rows: number): void {
    if (this.stdio.kind === 'terminal' && this.terminalOpen) resizePty(this.stdio.multiplexer, cols, rows);
  }

  close(): void {
    if (this.stdio.kind === 'terminal') {
      // Ctrl-D at the start of a line is end-of-file for a terminal's reader.
      if (this.terminalOpen) writeSync(this.stdio.multiplexer, Buffer.from([4]));
    } else {
      this.stdin?.end();
    }
  }

  kill(signal: NodeJS.Signals): void {
    // Until processExited the child is unreaped, so this PID is still ours.
    if (this.exitCode === null) process.kill(this.pid, signal);
  }

  onOutput(listener: OutputListener): void {
    this.outputListeners.push(listener);
    for (const { stream, data } of this.pending.splice(0)) listener(stream, data);
  }

  onExit(listener: ExitListener): void {
    this.exitListeners.push(listener);
    if (this.finished && this.exitCode !== null) listener(this.exitCode);
  }

  /** Releases the streams (e.g. when the client that started it disconnects). */
  dispose(): void {
    for (const stream of this.streams) stream.destroy();
    // Destroying a stream closes its descriptor (the terminal's multiplexer included).
    this.stdin?.destroy();
  }
}

/*
 * Checkpoints: how the agent and a not-yet-exec'd child take turns.
 *
 * The child's program (agent/kernel/child-program.ts) cannot make decisions, so it stops at
 * checkpoints: it blocks in read() on the "go" pipe until the agent writes a byte, and it can
 * report progress by writing a byte to the "report" pipe. Both pipes are close-on-exec: when
 * the child's execve() succeeds its end of the report pipe closes, so the agent's read returns
 * end-of-file — that is how the agent knows the container's process is running. A failed execve
 * is followed by an explicit "E" report before the child exits with 127.
 */
import { closeFd, pipe, readFd, writeFd } from '../../kernel/files';
import type { ChildProgram } from '../../kernel/child-program';

export const EXEC_FAILED = 'E';

export class Checkpoints {
  private readonly goRead: number;
  private readonly goWrite: number;
  private readonly reportRead: number;
  private readonly reportWrite: number;
  private childEndsClosed = false;
  private closed = false;

  constructor() {
    [this.goRead, this.goWrite] = pipe();
    [this.reportRead, this.reportWrite] = pipe();
  }

  /** Adds "block until the agent says go" to the child's program. */
  awaitGo(program: ChildProgram): void {
    program.syscall('read', this.goRead, program.arena.zeroed(16), 1);
  }

  /** The child's end of the report pipe: what it must keep open until execve (or its last report). */
  get childReportEnd(): number {
    return this.reportWrite;
  }

  /** Adds "tell the agent we reached `mark`" to the child's program. */
  report(program: ChildProgram, mark: string): void {
    program.syscall('write', this.reportWrite, program.arena.cString(mark), 1);
  }

  /** After clone: the agent keeps only its own ends, so end-of-file means the child is gone or exec'd. */
  closeChildEnds(): void {
    if (this.childEndsClosed) return;
    this.childEndsClosed = true;
    closeFd(this.goRead);
    closeFd(this.reportWrite);
  }

  go(): void {
    writeFd(this.goWrite, Buffer.from('g'));
  }

  /** Blocks until the child reports; null when its end closed (exec'd or dead). */
  nextReport(): string | null {
    const buffer = Buffer.alloc(1);
    const count = readFd(this.reportRead, buffer);
    return count === 0 ? null : buffer.toString('latin1');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeChildEnds();
    closeFd(this.goWrite);
    closeFd(this.reportRead);
  }
}

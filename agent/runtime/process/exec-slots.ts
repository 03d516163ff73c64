/*
 * Exec slots: deciding what a parked child will execute after it was cloned.
 *
 * A child's program (agent/kernel/child-program.ts) is a list of calls whose arguments are fixed
 * when the program is built — but an argument may be a *pointer*. The child runs in the agent's
 * own memory (CLONE_VM), so when its execve(2) step points at a buffer in the native arena, the
 * agent can write the program path, argv and envp into that buffer while the child waits at its
 * last checkpoint, and the child reads whatever is there when it gets to execve. Same for the
 * chdir(2) step and the working directory.
 *
 * That is what lets the warm pool (../lifecycle/warm-pool.ts) prepare a container completely —
 * namespaces, rootfs, cgroup — before anyone has said which command it will run.
 *
 * Ordering: the agent fills the slots, then writes the "go" byte to the checkpoint pipe; the
 * child's read(2) of that byte returns only after the write, and a system call on each side is
 * a full memory barrier, so the child sees the filled slots.
 *
 * Layout (all in the child's arena, sized once):
 *   path  PATH_MAX bytes          cwd   PATH_MAX bytes
 *   argv  (MAX_ENTRIES + 1) pointers, NULL-terminated     envp  likewise
 *   text  TEXT_BYTES of NUL-terminated strings that argv and envp point into
 */
import type { NativeArena, Address } from '../../kernel/native-memory';

/** What to execute: a resolved absolute path, its argv and envp, and where to start. */
export interface ExecText {
  path: string;
  args: readonly string[];
  env: readonly string[];
  cwd: string;
}

const PATH_MAX = 4096;
const MAX_ENTRIES = 512;
const TEXT_BYTES = 64 * 1024;

export class ExecSlots {
  readonly path: Address;
  readonly cwd: Address;
  readonly argv: Address;
  readonly envp: Address;
  private readonly text: Address;

  constructor(private readonly arena: NativeArena) {
    // Not cleared: the arena comes fresh from mmap, and untouched pages cost no memory while a
    // sandbox waits in the pool.
    this.path = arena.allocate(PATH_MAX).address;
    this.cwd = arena.allocate(PATH_MAX).address;
    this.argv = arena.allocate(8 * (MAX_ENTRIES + 1), 8).address;
    this.envp = arena.allocate(8 * (MAX_ENTRIES + 1), 8).address;
    this.text = arena.allocate(TEXT_BYTES).address;
  }

  /** Whether `exec` fits the slots (otherwise the caller must build a child the ordinary way). */
  static fits(exec: ExecText): boolean {
    const bytes = (text: string): number => Buffer.byteLength(text) + 1;
    const strings = [...exec.args, ...exec.env];
    return (
      bytes(exec.path) <= PATH_MAX &&
      bytes(exec.cwd) <= PATH_MAX &&
      exec.args.length <= MAX_ENTRIES &&
      exec.env.length <= MAX_ENTRIES &&
      strings.reduce((total, text) => total + bytes(text), 0) <= TEXT_BYTES &&
      // A NUL inside a string would silently cut it short in C.
      [exec.path, exec.cwd, ...strings].every((text) => !text.includes('\0'))
    );
  }

  /** Writes `exec` into the slots. Only while the child is parked before its chdir/execve steps. */
  fill(exec: ExecText): void {
    if (!ExecSlots.fits(exec)) throw new Error('the command does not fit the exec slots');
    this.writeString(this.path, exec.path);
    this.writeString(this.cwd, exec.cwd);
    let cursor = this.text;
    const writeArray = (array: Address, texts: readonly string[]): void => {
      const offset = this.arena.offsetOf(array);
      texts.forEach((text, index) => {
        this.arena.bytes.writeBigUInt64LE(cursor, offset + 8 * index);
        cursor += BigInt(this.writeString(cursor, text));
      });
      this.arena.bytes.writeBigUInt64LE(0n, offset + 8 * texts.length);
    };
    writeArray(this.argv, exec.args);
    writeArray(this.envp, exec.env);
  }

  /** Copies `text` and its terminating NUL to `address`; returns the bytes written. */
  private writeString(address: Address, text: string): number {
    const encoded = Buffer.from(`${text}\0`);
    encoded.copy(this.arena.bytes, this.arena.offsetOf(address));
    return encoded.length;
  }
}

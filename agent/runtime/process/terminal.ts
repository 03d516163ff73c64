/*
 * Pseudo-terminals: how `exec -t` gives a shell a real terminal.
 *
 * A pty is a pair: the program holds the terminal end (/dev/pts/N) as its stdin/stdout/stderr
 * and controlling tty, and the agent holds the "multiplexer" end (ptmx), reading what the program
 * prints and writing what the user types; the kernel's line discipline in between does echo,
 * line editing and Ctrl-C → SIGINT. The pair is allocated from the container's own devpts
 * instance (its /dev/pts/ptmx, reached through /proc/<pid>/root), so inside the container the
 * terminal is /dev/pts/0 of its own and `tty` works. TIOCGPTPEER opens the terminal end through
 * the multiplexer, without looking it up by path.
 */
import { O_CLOEXEC, O_NOCTTY, O_RDWR, TIOCGPTPEER, TIOCSPTLCK, TIOCSWINSZ } from '../../kernel/constants';
import { ioctl, ioctlBuffer, openFile } from '../../kernel/files';

export interface Pty {
  /** The agent's end. */
  multiplexer: number;
  /** The program's end. */
  terminal: number;
}

export function openPty(ptmxPath: string): Pty {
  const multiplexer = openFile(ptmxPath, O_RDWR | O_NOCTTY);
  ioctlBuffer(multiplexer, TIOCSPTLCK, Buffer.alloc(4), 'unlock pty');
  const terminal = ioctl(multiplexer, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC, 'open pty peer');
  return { multiplexer, terminal };
}

export function resizePty(multiplexer: number, cols: number, rows: number): void {
  const size = Buffer.alloc(8);
  size.writeUInt16LE(rows, 0);
  size.writeUInt16LE(cols, 2);
  ioctlBuffer(multiplexer, TIOCSWINSZ, size, 'set window size');
}

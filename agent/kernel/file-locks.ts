/*
 * Advisory file locks: flock(2), the lock that dies with its holder.
 *
 * Two processes that must not do one thing at once (two agents, or an agent and a CLI, fetching
 * the same layer) can agree on a file and flock it: LOCK_EX is held by one open file description
 * at a time. Unlike a "lock file exists" convention, the kernel drops the lock when the holder
 * closes the file or dies — even by SIGKILL — so a crash never leaves a stale lock to clean up.
 * Node has no flock, so it is called through libc; with LOCK_NB it never blocks the event loop:
 * the caller polls instead of sleeping in the kernel.
 */
import { declare, errorFor, lastErrno } from './libc';

const flock_ = declare('int flock(int fd, int operation)');

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = 11;
const EINTR = 4;

/** Takes the exclusive lock on `fd` if free: true when taken, false when another holder has it. */
export function tryLockExclusive(fd: number, what: string): boolean {
  for (;;) {
    if ((flock_(fd, LOCK_EX | LOCK_NB) as number) === 0) return true;
    const errno = lastErrno();
    if (errno === EWOULDBLOCK) return false;
    if (errno !== EINTR) throw errorFor('flock', `LOCK_EX ${what}`, errno);
  }
}

/** Releases the lock (closing the file does too). */
export function unlock(fd: number): void {
  flock_(fd, LOCK_UN);
}

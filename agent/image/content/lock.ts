/*
 * A named lock shared by every process on the machine: a file under the store, flock'ed.
 *
 * Two agents (or an agent and the CLI) pulling images that share a base layer must fetch that
 * layer once: the second waits for the first and then finds the blob present. The lock is the
 * kernel's flock(2) on `<name>.lock`, so a holder killed half-way releases it by dying.
 *
 * The lock file is removed by its holder before releasing, so finished work leaves no files.
 * That opens the classic race — a waiter may lock the file just unlinked, a name nobody else
 * will open — so after taking the lock a waiter checks that the name still leads to the very
 * file it holds (same inode), and starts over if not.
 */
import { closeSync, fstatSync, openSync, statSync, unlinkSync, constants } from 'node:fs';
import { tryLockExclusive, unlock } from '../../kernel/file-locks';

const FIRST_WAIT_MS = 10;
const LONGEST_WAIT_MS = 200;

function holdsCurrentFile(fd: number, path: string): boolean {
  try {
    return statSync(path).ino === fstatSync(fd).ino;
  } catch {
    return false; // unlinked by the previous holder
  }
}

/** Runs `body` while holding the lock at `path` (created if missing, removed afterwards). */
export async function withFileLock<T>(path: string, body: () => Promise<T>): Promise<T> {
  let wait = FIRST_WAIT_MS;
  let fd: number;
  for (;;) {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    let locked = false;
    try {
      locked = tryLockExclusive(fd, path) && holdsCurrentFile(fd, path);
    } finally {
      if (!locked) closeSync(fd);
    }
    if (locked) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, LONGEST_WAIT_MS);
  }
  try {
    return await body();
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // already gone: nothing to tidy
    }
    unlock(fd);
    closeSync(fd);
  }
}

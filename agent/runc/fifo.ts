/*
 * The exec FIFO: how a created container waits for `start` with no process of the runtime alive.
 *
 * runc's `create` leaves the container's first process blocked on a named pipe, exec.fifo in the
 * state directory, and exits; `start`, a new process, opens the FIFO and reads, which releases
 * the waiting process into execve; then it removes the FIFO, and from then on the container counts
 * as running. Here the first process holds the FIFO open read-write (so its own read blocks
 * instead of seeing end-of-file: it is a writer itself) and reads one byte; `start` opens the other
 * end write-only without blocking — which fails with ENXIO when no process holds it any more, i.e.
 * the container's first process is gone — writes the byte, and removes the FIFO.
 */
import { rmSync, unlinkSync } from 'node:fs';
import { O_NONBLOCK, O_RDWR, O_WRONLY } from '../kernel/constants';
import { hasErrno } from '../kernel/errors';
import { closeFd, makeFifo, openFile, writeFd } from '../kernel/files';
import { RuncError } from './errors';

/** Makes the FIFO and returns a read-write descriptor for the first process to wait on. */
export function makeExecFifo(path: string): number {
  rmSync(path, { force: true });
  makeFifo(path, 0o600);
  return openFile(path, O_RDWR);
}

/** Releases the waiting first process; the FIFO is gone afterwards. */
export function releaseExecFifo(path: string): void {
  let fd: number;
  try {
    fd = openFile(path, O_WRONLY | O_NONBLOCK);
  } catch (error) {
    if (hasErrno(error, 'ENXIO')) {
      rmSync(path, { force: true });
      throw new RuncError('cannot start a container that has stopped');
    }
    if (hasErrno(error, 'ENOENT')) throw new RuncError('cannot start an already running container');
    throw error;
  }
  try {
    writeFd(fd, Buffer.from('0'));
  } finally {
    closeFd(fd);
  }
  removeFifo(path);
}

/**
 * unlink(2), a FIFO already gone being no error. Not rmSync(…, { force: true }): its first call
 * loads Node's recursive-removal module (~4 ms), which `start` would load for this one file.
 */
function removeFifo(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (!hasErrno(error, 'ENOENT')) throw error;
  }
}

/*
 * File descriptors: the small integers through which a process holds open files, pipes,
 * terminals and namespaces. Node's `fs` covers ordinary files; these are the calls it does not
 * offer (pipe2 with flags, ioctl on terminals, fchdir, renameat2's exchange, a duplicate above a
 * number) or that must run synchronously on the calling thread — and one close that must not.
 */
import { close as closeOnThreadPool } from 'node:fs';
import { check, declare } from './libc';
import { AT_FDCWD, F_DUPFD_CLOEXEC, O_CLOEXEC, RENAME_EXCHANGE } from './constants';

const open_ = declare('int open(const char *path, int flags, uint32_t mode)');
const close_ = declare('int close(int fd)');
const read_ = declare('long read(int fd, _Out_ uint8_t *buf, size_t count)');
const write_ = declare('long write(int fd, const uint8_t *buf, size_t count)');
const pipe2_ = declare('int pipe2(_Out_ int *fds, int flags)');
const ioctlInt = declare('int ioctl(int fd, unsigned long request, ...)');
const fchdir_ = declare('int fchdir(int fd)');
const mknod_ = declare('int mknod(const char *path, uint32_t mode, uint64_t dev)');

export function openFile(path: string, flags: number, mode = 0o644): number {
  return check('open', path, open_(path, flags | O_CLOEXEC, mode) as number);
}

export function closeFd(fd: number): void {
  close_(fd);
}

/**
 * close(2) on libuv's thread pool. Closing the last reference to a namespace tears it down in
 * the closing thread (for a mount namespace: unmount everything, wait for RCU grace periods);
 * this way the agent's own thread does not wait for that.
 */
export function closeFdInBackground(fd: number): Promise<void> {
  return new Promise((resolve) => closeOnThreadPool(fd, () => resolve()));
}

const fcntlInt = declare('int fcntl(int fd, int cmd, ...)');

/** A close-on-exec copy of `fd` at the lowest free number ≥ `minimum` (fcntl F_DUPFD_CLOEXEC). */
export function duplicateFdAtOrAbove(fd: number, minimum: number): number {
  return check('fcntl', `F_DUPFD_CLOEXEC fd ${fd} ≥ ${minimum}`, fcntlInt(fd, F_DUPFD_CLOEXEC, 'int', minimum) as number);
}

export function readFd(fd: number, buffer: Buffer): number {
  return Number(check('read', `fd ${fd}`, read_(fd, buffer, buffer.length) as number));
}

export function writeFd(fd: number, data: Buffer): number {
  return Number(check('write', `fd ${fd}`, write_(fd, data, data.length) as number));
}

/** A pipe as [readEnd, writeEnd], close-on-exec so no exec'd program inherits it by accident. */
export function pipe(flags = 0): [number, number] {
  const fds = [0, 0];
  check('pipe2', 'new pipe', pipe2_(fds, flags | O_CLOEXEC) as number);
  return [fds[0]!, fds[1]!];
}

/** ioctl with an integer (or no) argument. */
export function ioctl(fd: number, request: number, arg = 0, what = `fd ${fd}`): number {
  return check('ioctl', what, ioctlInt(fd, request, 'unsigned long', arg) as number);
}

/** ioctl whose argument is a buffer the kernel reads (e.g. struct winsize). */
export function ioctlBuffer(fd: number, request: number, arg: Buffer, what = `fd ${fd}`): number {
  return check('ioctl', what, ioctlInt(fd, request, 'uint8_t *', arg) as number);
}

export function fchdir(fd: number): void {
  check('fchdir', `fd ${fd}`, fchdir_(fd) as number);
}

const chdir_ = declare('int chdir(const char *path)');

/** chdir(2) for this thread only (Node's process.chdir would also update Node's cached cwd). */
export function chdir(path: string): void {
  check('chdir', path, chdir_(path) as number);
}

const renameat2_ = declare('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)');

/**
 * Swaps two existing paths in one step (renameat2 RENAME_EXCHANGE): whoever opens either name
 * sees the old file or the new one, never neither. Unlike a rename over an existing file, ext4
 * does not start writing the renamed file's data to disk here (its auto_da_alloc heuristic).
 */
export function exchangePaths(first: string, second: string): void {
  check('renameat2', `${first} ⇄ ${second}, RENAME_EXCHANGE`, renameat2_(AT_FDCWD, first, AT_FDCWD, second, RENAME_EXCHANGE) as number);
}

const mkfifo_ = declare('int mkfifo(const char *path, uint32_t mode)');

/** A named pipe (FIFO) at `path`: open(2) of one end blocks until the other end is opened, unless O_RDWR or O_NONBLOCK. */
export function makeFifo(path: string, mode = 0o600): void {
  check('mkfifo', path, mkfifo_(path, mode) as number);
}

/** mknod(2): a device file (mode carries S_IFCHR/S_IFBLK/S_IFIFO and the permissions) for device number `dev`. */
export function makeNode(path: string, mode: number, dev: number): void {
  check('mknod', path, mknod_(path, mode, dev) as number);
}

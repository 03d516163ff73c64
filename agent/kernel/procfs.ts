/*
 * Reading /proc fast: the calls behind the host snapshot.
 *
 * /proc/<pid> is a directory the kernel makes up on demand for each process; its files (stat,
 * cgroup) and links (ns/net, ns/pid, …) are generated when read. A snapshot of thousands of
 * processes makes ~16 such reads per process, so how each read is made matters more than what
 * is read: opening /proc/<pid> once and reading everything relative to that descriptor
 * (openat, readlinkat, statx with AT_EMPTY_PATH) spares the kernel a path lookup per file, and
 * reading into one reused buffer spares the garbage collector a Buffer per file.
 *
 * Unlike the rest of the kernel layer these calls do not throw: a process may exit between
 * listing /proc and reading it, which is normal, not an error. They return -1 and the caller
 * skips that process.
 */
import { declare } from './libc';
import { AT_EMPTY_PATH, O_CLOEXEC, O_DIRECTORY, O_RDONLY, STATX_UID, STATX_UID_OFFSET } from './constants';

const open_ = declare('int open(const char *path, int flags)');
// Names are passed as NUL-terminated Buffers prepared once (see `procName`): no string
// conversion per call.
const openat_ = declare('int openat(int dirfd, const uint8_t *name, int flags)');
const readlinkat_ = declare('long readlinkat(int dirfd, const uint8_t *name, _Out_ uint8_t *buf, size_t size)');
const read_ = declare('long read(int fd, _Out_ uint8_t *buf, size_t count)');
const close_ = declare('int close(int fd)');
const statx_ = declare('int statx(int dirfd, const uint8_t *name, int flags, unsigned int mask, _Out_ uint8_t *statxbuf)');

/** A path component as a C string, made once and reused for every process. */
export function procName(name: string): Buffer {
  return Buffer.from(`${name}\0`, 'latin1');
}

const EMPTY_NAME = procName('');
const statxBuffer = Buffer.alloc(256);

/** Opens /proc/<pid> as a directory; -1 when the process is gone. */
export function openProcessDir(pid: number): number {
  return open_(`/proc/${pid}`, O_RDONLY | O_DIRECTORY | O_CLOEXEC) as number;
}

export function closeProcessFd(fd: number): void {
  close_(fd);
}

/** readlinkat(2) into `out`; the link's length, or -1. */
export function readLinkAt(dirfd: number, name: Buffer, out: Buffer): number {
  return Number(readlinkat_(dirfd, name, out, out.length));
}

/**
 * Reads a whole generated file relative to `dirfd` into `out`, starting at 0; returns the byte
 * count (-1 if it could not be read). When `out` fills up, returns `out.length` and the caller
 * retries with a bigger buffer.
 */
export function readFileAt(dirfd: number, name: Buffer, out: Buffer): number {
  const fd = openat_(dirfd, name, O_RDONLY | O_CLOEXEC) as number;
  if (fd < 0) return -1;
  let length = 0;
  try {
    while (length < out.length) {
      const count = Number(read_(fd, length === 0 ? out : out.subarray(length), out.length - length));
      if (count < 0) return -1;
      if (count === 0) break;
      length += count;
    }
    return length;
  } finally {
    close_(fd);
  }
}

/** Owner uid of an open file (for /proc/<pid>: the process's effective uid); -1 on failure. */
export function ownerUid(fd: number): number {
  const result = statx_(fd, EMPTY_NAME, AT_EMPTY_PATH, STATX_UID, statxBuffer) as number;
  return result < 0 ? -1 : statxBuffer.readUInt32LE(STATX_UID_OFFSET);
}

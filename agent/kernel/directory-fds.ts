/*
 * Building a file tree relative to one open directory: the *at() calls and openat2(2).
 *
 * A path such as "usr/lib/x" handed to open(2) is walked by the kernel one component at a time,
 * and every symlink met on the way is followed — to anywhere, including "/etc". A program that
 * writes files named by someone else (a layer tarball from a registry) must not let a name lead
 * it outside its directory. Checking the string is not enough: "lib/x" is harmless text, but if
 * an earlier entry made "lib" a symlink to "/", it names "/x".
 *
 * So the unpacker holds its target directory open and names everything relative to that
 * descriptor: openat2(2) with RESOLVE_BENEATH makes the kernel itself refuse (EXDEV) any walk
 * that would leave the directory — through "..", an absolute symlink, or a symlink that climbs
 * out — and mkdirat, mknodat, symlinkat, linkat, fchownat, utimensat then act on one final name
 * inside a directory reached that way. The final name is never followed (O_NOFOLLOW,
 * AT_SYMLINK_NOFOLLOW), so an entry cannot write "through" a symlink either.
 *
 * Names are C strings given as Buffers: a tar entry's name is bytes, not necessarily UTF-8, and
 * must reach the kernel unchanged.
 */
import { check, declare, errorFor, lastErrno } from './libc';
import { SYSCALL_TABLE } from './syscall-table.generated';
import {
  AT_SYMLINK_NOFOLLOW, O_CLOEXEC, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, STATX_INO, STATX_INO_OFFSET,
  STATX_MODE, STATX_MODE_OFFSET, STATX_RDEV_MAJOR_OFFSET, STATX_RDEV_MINOR_OFFSET, STATX_TYPE, supportedArch,
} from './constants';
import { errnoName } from './errors';

/** A NUL-terminated C string for a name; `bytes` are used as they are (no re-encoding). */
export function cName(bytes: Buffer | string): Buffer {
  const raw = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return raw.length > 0 && raw[raw.length - 1] === 0 ? raw : Buffer.concat([raw, Buffer.of(0)]);
}

/** The name as a person reads it in an error message. */
function shown(name: Buffer): string {
  const end = name.indexOf(0);
  return name.subarray(0, end < 0 ? name.length : end).toString('utf8');
}

const syscall_ = declare('long syscall(long number, ...)');
const SYS_OPENAT2 = SYSCALL_TABLE[supportedArch()]['openat2'] as number;

/**
 * openat2(2) with RESOLVE_BENEATH (and no /proc magic links): opens `path` relative to `dirfd`,
 * or fails with EXDEV when any step of the walk would leave `dirfd`'s directory.
 */
export function openBeneath(dirfd: number, path: Buffer, flags: number, mode = 0, extraResolve = 0): number {
  // struct open_how { u64 flags; u64 mode; u64 resolve; }
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(mode), 8);
  how.writeBigUInt64LE(BigInt(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | extraResolve), 16);
  const result = syscall_(SYS_OPENAT2, 'int', dirfd, 'uint8_t *', cName(path), 'uint8_t *', how, 'size_t', how.length) as number | bigint;
  return Number(check('openat2', `${shown(path)} beneath fd ${dirfd}`, result));
}

const openat_ = declare('int openat(int dirfd, const uint8_t *path, int flags, uint32_t mode)');
const mkdirat_ = declare('int mkdirat(int dirfd, const uint8_t *path, uint32_t mode)');
const mknodat_ = declare('int mknodat(int dirfd, const uint8_t *path, uint32_t mode, uint64_t dev)');
const symlinkat_ = declare('int symlinkat(const uint8_t *target, int newdirfd, const uint8_t *linkpath)');
const linkat_ = declare('int linkat(int olddirfd, const uint8_t *oldpath, int newdirfd, const uint8_t *newpath, int flags)');
const unlinkat_ = declare('int unlinkat(int dirfd, const uint8_t *path, int flags)');
const fchownat_ = declare('int fchownat(int dirfd, const uint8_t *path, uint32_t owner, uint32_t group, int flags)');
const fchmodat_ = declare('int fchmodat(int dirfd, const uint8_t *path, uint32_t mode, int flags)');
const utimensat_ = declare('int utimensat(int dirfd, const uint8_t *path, const uint8_t *times, int flags)');
const lsetxattr_ = declare('int lsetxattr(const uint8_t *path, const char *name, const uint8_t *value, size_t size, int flags)');
const lgetxattr_ = declare('long lgetxattr(const uint8_t *path, const char *name, _Out_ uint8_t *value, size_t size)');
const statx_ = declare('int statx(int dirfd, const uint8_t *path, int flags, unsigned int mask, _Out_ uint8_t *statxbuf)');
const syncfs_ = declare('int syncfs(int fd)');

/** openat(2) of one name in `dirfd` (callers add O_NOFOLLOW so a final symlink is not followed). */
export function openAt(dirfd: number, name: Buffer, flags: number, mode = 0): number {
  return check('openat', shown(name), openat_(dirfd, cName(name), flags | O_CLOEXEC, mode) as number);
}

export function mkdirAt(dirfd: number, name: Buffer, mode: number): void {
  check('mkdirat', shown(name), mkdirat_(dirfd, cName(name), mode) as number);
}

/** The kernel's dev_t from major and minor numbers, as glibc's makedev() packs them. */
export function makeDev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** mknodat(2): a device node or FIFO; `mode` carries the type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
export function mknodAt(dirfd: number, name: Buffer, mode: number, major = 0, minor = 0): void {
  check('mknodat', `${shown(name)}, ${major}:${minor}`, mknodat_(dirfd, cName(name), mode, makeDev(major, minor)) as number);
}

export function symlinkAt(target: Buffer, dirfd: number, name: Buffer): void {
  check('symlinkat', `${shown(name)} → ${shown(target)}`, symlinkat_(cName(target), dirfd, cName(name)) as number);
}

/** linkat(2) without AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself. */
export function linkAt(oldDirfd: number, oldName: Buffer, newDirfd: number, newName: Buffer): void {
  check('linkat', `${shown(newName)} → ${shown(oldName)}`, linkat_(oldDirfd, cName(oldName), newDirfd, cName(newName), 0) as number);
}

export function unlinkAt(dirfd: number, name: Buffer, flags = 0): void {
  check('unlinkat', shown(name), unlinkat_(dirfd, cName(name), flags) as number);
}

/** fchownat with AT_SYMLINK_NOFOLLOW: lchown(2) relative to a directory. */
export function lchownAt(dirfd: number, name: Buffer, uid: number, gid: number): void {
  check('fchownat', `${shown(name)}, ${uid}:${gid}`, fchownat_(dirfd, cName(name), uid, gid, AT_SYMLINK_NOFOLLOW) as number);
}

/** fchmodat(2); it follows a final symlink, so call it only on names known not to be one. */
export function chmodAt(dirfd: number, name: Buffer, mode: number): void {
  check('fchmodat', `${shown(name)}, ${(mode & 0o7777).toString(8)}`, fchmodat_(dirfd, cName(name), mode, 0) as number);
}

/** A point in time as struct timespec wants it: whole seconds and nanoseconds. */
export interface Timespec {
  seconds: number;
  nanoseconds: number;
}

/** utimensat(2) with AT_SYMLINK_NOFOLLOW: sets a symlink's own times, never its target's. */
export function lutimesAt(dirfd: number, name: Buffer, atime: Timespec, mtime: Timespec): void {
  // struct timespec times[2] = { atime, mtime }; each { time_t tv_sec; long tv_nsec; } (64-bit)
  const times = Buffer.alloc(32);
  times.writeBigInt64LE(BigInt(atime.seconds), 0);
  times.writeBigInt64LE(BigInt(atime.nanoseconds), 8);
  times.writeBigInt64LE(BigInt(mtime.seconds), 16);
  times.writeBigInt64LE(BigInt(mtime.nanoseconds), 24);
  check('utimensat', shown(name), utimensat_(dirfd, cName(name), times, AT_SYMLINK_NOFOLLOW) as number);
}

/**
 * The path under which `name` inside the open directory `dirfd` can be given to a call that has
 * no *at() form (lsetxattr): /proc/self/fd/N is a "magic link" the kernel resolves to exactly
 * that open directory, wherever it is, and `name` is then looked up inside it.
 */
export function pathInFd(dirfd: number, name: Buffer): Buffer {
  const end = name.indexOf(0);
  return Buffer.concat([Buffer.from(`/proc/self/fd/${dirfd}/`), end < 0 ? name : name.subarray(0, end)]);
}

/** lsetxattr(2): sets an extended attribute on `path` itself (a final symlink is not followed). */
export function lsetxattr(path: Buffer, attribute: string, value: Buffer): void {
  check('lsetxattr', `${shown(path)}, ${attribute}`, lsetxattr_(cName(path), attribute, value, value.length, 0) as number);
}

/** lgetxattr(2): an attribute's value, or null when the file does not have it (or cannot have any). */
export function lgetxattr(path: Buffer | string, attribute: string): Buffer | null {
  const target = cName(path);
  let value = Buffer.alloc(256);
  for (;;) {
    const length = Number(lgetxattr_(target, attribute, value, value.length));
    if (length >= 0) return value.subarray(0, length);
    const errno = lastErrno();
    const code = errnoName(errno);
    if (code === 'ERANGE' && value.length < 65536) {
      value = Buffer.alloc(65536);
      continue;
    }
    if (code === 'ENODATA' || code === 'ENOENT' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return null;
    throw errorFor('lgetxattr', `${shown(target)}, ${attribute}`, errno);
  }
}

/** What is at one name: its type and permission bits, inode, and device numbers. */
export interface NameStat {
  mode: number;
  ino: bigint;
  rdevMajor: number;
  rdevMinor: number;
}

const statxBuffer = Buffer.alloc(256);

/** statx(2) of `name` in `dirfd` without following a final symlink; null when nothing is there. */
export function lstatAt(dirfd: number, name: Buffer): NameStat | null {
  const result = statx_(dirfd, cName(name), AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_INO, statxBuffer) as number;
  if (result < 0) {
    const errno = lastErrno();
    if (errnoName(errno) === 'ENOENT') return null;
    throw errorFor('statx', shown(name), errno);
  }
  return {
    mode: statxBuffer.readUInt16LE(STATX_MODE_OFFSET),
    ino: statxBuffer.readBigUInt64LE(STATX_INO_OFFSET),
    rdevMajor: statxBuffer.readUInt32LE(STATX_RDEV_MAJOR_OFFSET),
    rdevMinor: statxBuffer.readUInt32LE(STATX_RDEV_MINOR_OFFSET),
  };
}

/** syncfs(2): writes the whole filesystem holding `fd` to disk, so what is renamed into place survives a crash. */
export function syncFilesystem(fd: number): void {
  check('syncfs', `fd ${fd}`, syncfs_(fd) as number);
}

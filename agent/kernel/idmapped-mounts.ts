/*
 * Idmapped mounts: one directory, seen with its owners translated.
 *
 * A file on disk has one owner, a host uid. A container in a user namespace that maps its 0 to
 * host 100000 sees a layer owned by host root as owned by "nobody" (host 0 is unmapped inside).
 * An idmapped mount fixes that without touching the files: the kernel translates owners through
 * a user namespace's mapping whenever the files are read or written *through that mount*. A file
 * owned by host 0 appears through a mount idmapped with the container's namespace as owned by
 * host 100000 — which the container sees as its root. The same directory, mounted plainly
 * elsewhere, still shows 0.
 *
 * Only a mount not yet attached anywhere may be idmapped, so it takes the new mount API (Linux
 * 5.12+), three system calls glibc 2.36 has no wrappers for:
 *   open_tree(dirfd, path, OPEN_TREE_CLONE)  — a detached copy of the mount at path, as an fd;
 *   mount_setattr(fd, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_IDMAP, userns_fd}) — idmap it;
 *   move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) — attach it at target.
 * The filesystem must allow it (ext4, xfs, btrfs, tmpfs since 6.3; overlayfs accepts idmapped
 * lower layers since 5.19). The caller needs CAP_SYS_ADMIN over the user namespace it maps with.
 */
import { check, declare } from './libc';
import { closeFd } from './files';
import { AT_EMPTY_PATH, AT_FDCWD, O_CLOEXEC, supportedArch } from './constants';
import { SYSCALL_TABLE } from './syscall-table.generated';

const syscall_ = declare('long syscall(long number, ...)');
const numbers = SYSCALL_TABLE[supportedArch()];
const SYS_OPEN_TREE = numbers['open_tree'] as number;
const SYS_MOUNT_SETATTR = numbers['mount_setattr'] as number;
const SYS_MOVE_MOUNT = numbers['move_mount'] as number;

/** open_tree(2): a detached clone of the mount tree at the path (not its submounts without AT_RECURSIVE). */
export const OPEN_TREE_CLONE = 1;
export const OPEN_TREE_CLOEXEC = O_CLOEXEC;
/** mount_setattr(2)'s struct mount_attr.attr_set bit: idmap the mount with userns_fd's mapping. */
export const MOUNT_ATTR_IDMAP = 0x00100000;
/** move_mount(2): the source is the fd itself (from_path is ""). */
export const MOVE_MOUNT_F_EMPTY_PATH = 0x00000004;
/** sizeof(struct mount_attr) version 0: { u64 attr_set, attr_clr, propagation, userns_fd }. */
const MOUNT_ATTR_SIZE_VER0 = 32;

/** A detached clone of the mount tree at `path`, as a file descriptor the caller closes. */
export function openTreeClone(path: string): number {
  const result = syscall_(SYS_OPEN_TREE, 'int', AT_FDCWD, 'const char *', path, 'unsigned int', OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) as number | bigint;
  return Number(check('open_tree', path, result));
}

/** Idmaps the detached mount `mountFd` with the mapping of the user namespace `usernsFd` (/proc/PID/ns/user). */
export function idmapMount(mountFd: number, usernsFd: number, what: string): void {
  const attr = Buffer.alloc(MOUNT_ATTR_SIZE_VER0);
  attr.writeBigUInt64LE(BigInt(MOUNT_ATTR_IDMAP), 0);
  attr.writeBigUInt64LE(BigInt(usernsFd), 24);
  const result = syscall_(SYS_MOUNT_SETATTR, 'int', mountFd, 'const char *', '', 'unsigned int', AT_EMPTY_PATH, 'uint8_t *', attr, 'size_t', attr.length) as number | bigint;
  check('mount_setattr', `${what} (MOUNT_ATTR_IDMAP)`, result);
}

/** Attaches the detached mount `mountFd` at `target` (in the calling thread's mount namespace). */
export function attachMount(mountFd: number, target: string): void {
  const result = syscall_(SYS_MOVE_MOUNT, 'int', mountFd, 'const char *', '', 'int', AT_FDCWD, 'const char *', target, 'unsigned int', MOVE_MOUNT_F_EMPTY_PATH) as number | bigint;
  check('move_mount', target, result);
}

/**
 * Mounts `source` at `target` idmapped with the user namespace `usernsFd`: the three calls above.
 * `source` and `target` may be the same directory (the idmapped view then covers the plain one).
 */
export function mountIdmapped(source: string, target: string, usernsFd: number): void {
  const fd = openTreeClone(source);
  try {
    idmapMount(fd, usernsFd, source);
    attachMount(fd, target);
  } finally {
    closeFd(fd);
  }
}

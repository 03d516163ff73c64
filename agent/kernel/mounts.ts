/*
 * Mounts: attaching a filesystem (or another view of one) at a directory.
 *
 * A container's root is assembled from mounts made inside its own mount namespace: an overlay
 * for `/`, a fresh proc for its PID namespace, tmpfs for /dev and /tmp. pivot_root(2) then makes
 * that tree the root and moves the old one aside, where it is detached with umount2(MNT_DETACH).
 * glibc has no pivot_root wrapper, so it goes through syscall(2) with the architecture's number.
 */
import { check, declare } from './libc';
import { SYS } from './constants';

const mount_ = declare('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
const umount2_ = declare('int umount2(const char *target, int flags)');
const syscall2 = declare('long syscall(long number, ...)');

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  const what = fstype ? `${fstype} ${source ?? ''} → ${target}` : `${source ?? ''} → ${target}`;
  check('mount', what, mount_(source, target, fstype, flags, data) as number);
}

export function umount(target: string, flags = 0): void {
  check('umount2', target, umount2_(target, flags) as number);
}

const chroot_ = declare('int chroot(const char *path)');

/** chroot(2): where "/" resolves for this thread's filesystem context (the mount table stays as it is). */
export function chroot(path: string): void {
  check('chroot', path, chroot_(path) as number);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  check('pivot_root', `${newRoot}, ${putOld}`, syscall2(SYS.pivot_root, 'const char *', newRoot, 'const char *', putOld) as number);
}

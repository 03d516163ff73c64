/*
 * Namespace system calls: unshare(2) gives the calling thread new namespaces, setns(2) moves it
 * into existing ones (named by an open /proc/<pid>/ns/<type> file), sethostname(2) writes the
 * UTS namespace's hostname. Each affects only the calling thread, which is why the runtime can
 * step into a container's namespace, act, and step back out within one synchronous call.
 */
import { check, declare } from './libc';

const setns_ = declare('int setns(int fd, int nstype)');
const unshare_ = declare('int unshare(int flags)');
const sethostname_ = declare('int sethostname(const char *name, size_t len)');

export function setns(fd: number, nstype: number, what: string): void {
  check('setns', what, setns_(fd, nstype) as number);
}

export function unshare(flags: number): void {
  check('unshare', `flags 0x${flags.toString(16)}`, unshare_(flags) as number);
}

export function sethostname(name: string): void {
  check('sethostname', name, sethostname_(name, Buffer.byteLength(name)) as number);
}

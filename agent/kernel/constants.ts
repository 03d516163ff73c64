/*
 * The numbers the kernel's interfaces speak, in one place.
 *
 * C programs get these from <sched.h>, <sys/mount.h>, <linux/rtnetlink.h> and friends; a
 * TypeScript program calling libc directly has to carry them itself. Values are identical on
 * x86-64 and aarch64 except system-call numbers, which are chosen per architecture below.
 */

/** clone(2)/unshare(2)/setns(2) flags: one bit per namespace type. */
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_FS = 0x00000200;
export const CLONE_FILES = 0x00000400;

export const SIGCHLD = 17;
export const SIGKILL = 9;
export const SIGTERM = 15;
export const SIGCONT = 18;

/** mount(2) flags. */
export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_NOATIME = 0x400;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_STRICTATIME = 0x1000000;

/** umount2(2) flags. */
export const MNT_DETACH = 0x2;

/** open(2) flags. */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_NOCTTY = 0o400;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

/** mmap(2). */
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;

/** waitpid(2). */
export const WNOHANG = 1;

/** prctl(2). */
export const PR_SET_PDEATHSIG = 1;
export const PR_SET_CHILD_SUBREAPER = 36;

/** ioctl(2) requests for terminals. */
export const TIOCSCTTY = 0x540e;
export const TIOCSWINSZ = 0x5414;
export const TIOCSPTLCK = 0x40045431;
export const TIOCGPTPEER = 0x5441;

/** epoll(7). */
export const EPOLLIN = 0x1;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;

/** System-call numbers differ per architecture: the two the lab VM runs on. */
const SYSCALLS = {
  x64: { pivot_root: 155, close_range: 436, pidfd_open: 434, pidfd_send_signal: 424 },
  arm64: { pivot_root: 41, close_range: 436, pidfd_open: 434, pidfd_send_signal: 424 },
} as const;

export type SupportedArch = keyof typeof SYSCALLS;

export function supportedArch(arch: string = process.arch): SupportedArch {
  if (arch === 'x64' || arch === 'arm64') return arch;
  throw new Error(`unsupported architecture ${arch}: Containers Lab runs on x86-64 and aarch64`);
}

export const SYS = SYSCALLS[supportedArch()];

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
export const CLONE_VM = 0x00000100;
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
export const MS_SYNCHRONOUS = 0x10;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_STRICTATIME = 0x1000000;
export const MS_LAZYTIME = 0x2000000;

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
/** Differs by architecture: on aarch64 0o200000 is O_DIRECT, which /proc refuses. */
export const O_DIRECTORY = supportedArch() === 'arm64' ? 0o40000 : 0o200000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

/** fcntl(2): duplicate a descriptor at or above a number, close-on-exec. */
export const F_DUPFD_CLOEXEC = 1030;
export const F_SETFD = 2;

/** renameat2(2): the directory descriptor meaning "the current directory", and the swap flag. */
export const AT_FDCWD = -100;
export const RENAME_EXCHANGE = 1 << 1;

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
export const PR_SET_KEEPCAPS = 8;
export const PR_CAPBSET_DROP = 24;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_RAISE = 2;

/** capset(2): the 64-bit capability interface (two 32-bit words per set). */
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/** seccomp(2). */
export const SECCOMP_SET_MODE_FILTER = 1;

/** keyctl(2) operation (linux/keyctl.h): subscribe to a named session keyring, made if none has that name. */
export const KEYCTL_JOIN_SESSION_KEYRING = 1;

/** ioctl(2) requests for terminals. */
export const TIOCSCTTY = 0x540e;
export const TIOCSWINSZ = 0x5414;
export const TIOCSPTLCK = 0x40045431;
export const TIOCGPTPEER = 0x5441;
/** The N of the terminal /dev/pts/N a multiplexer belongs to (_IOR('T', 0x30, unsigned int)). */
export const TIOCGPTN = 0x80045430;

/** epoll(7). */
export const EPOLLIN = 0x1;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;

/** System-call numbers differ per architecture: the two the lab VM runs on. */
const SYSCALLS = {
  x64: {
    read: 0, write: 1, close: 3, ioctl: 16, rt_sigaction: 13, rt_sigprocmask: 14, chdir: 80,
    setsid: 112, setgroups: 116, setresuid: 117, setresgid: 119, prctl: 157, mount: 165,
    execve: 59, exit_group: 231, unshare: 272, dup3: 292, setns: 308,
    pivot_root: 155, close_range: 436, pidfd_open: 434, pidfd_send_signal: 424,
    capset: 126, seccomp: 317, keyctl: 250, openat: 257, chroot: 161, fchdir: 81, fcntl: 72,
  },
  // aarch64 uses the generic system-call table (asm-generic/unistd.h): no dup2, open, fork…
  arm64: {
    read: 63, write: 64, close: 57, ioctl: 29, rt_sigaction: 134, rt_sigprocmask: 135, chdir: 49,
    setsid: 157, setgroups: 159, setresuid: 147, setresgid: 149, prctl: 167, mount: 40,
    execve: 221, exit_group: 94, unshare: 97, dup3: 24, setns: 268,
    pivot_root: 41, close_range: 436, pidfd_open: 434, pidfd_send_signal: 424,
    capset: 91, seccomp: 277, keyctl: 219, openat: 56, chroot: 51, fchdir: 50, fcntl: 25,
  },
} as const;

export type SyscallName = keyof (typeof SYSCALLS)['x64'];

export type SupportedArch = keyof typeof SYSCALLS;

export function supportedArch(arch: string = process.arch): SupportedArch {
  if (arch === 'x64' || arch === 'arm64') return arch;
  throw new Error(`unsupported architecture ${arch}: Containers Lab runs on x86-64 and aarch64`);
}

export const SYS = SYSCALLS[supportedArch()];

export function syscallNumbers(arch: SupportedArch): Readonly<Record<SyscallName, number>> {
  return SYSCALLS[arch];
}

/*
 * ── Networking (rtnetlink) ─────────────────────────────────────────────────────────────────
 * From <linux/socket.h>, <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>,
 * <linux/if_addr.h>, <linux/net_namespace.h>, <linux/veth.h>, <net/if.h>, <poll.h>.
 */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = 0o4000;
export const NETLINK_ROUTE = 0;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SOL_NETLINK = 270;
export const NETLINK_EXT_ACK = 11;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 0x1;

/** nlmsghdr.nlmsg_type values shared by every netlink family. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
/** nlmsghdr.nlmsg_flags. */
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** Flags on an NLMSG_ERROR reply when NETLINK_EXT_ACK is on. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;

/** rtnetlink message types. */
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
export const RTM_NEWNSID = 88;
export const RTM_GETNSID = 90;

/** Multicast groups (bit masks for sockaddr_nl.nl_groups). */
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;

/** struct ifinfomsg attributes (IFLA_*). */
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_NET_NS_FD = 28;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;
/** IFLA_INFO_DATA of kind "vxlan" (IFLA_VXLAN_*). */
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_TTL = 5;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_PORT = 15;

/** Interface flags (ifinfomsg.ifi_flags). */
export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_LOWER_UP = 0x10000;

/** struct ifaddrmsg attributes (IFA_*). */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_BROADCAST = 4;

/** struct rtmsg values and attributes (RTA_*). */
export const RT_TABLE_MAIN = 254;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RTN_UNICAST = 1;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;
/** rtm_flags: the gateway is on the link even though no address of the link's covers it. */
export const RTNH_F_ONLINK = 4;
export const RT_SCOPE_LINK = 253;

/** struct ndmsg (neighbours and bridge forwarding entries) values and attributes (NDA_*). */
export const AF_BRIDGE = 7;
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
/** ndm_flags: the entry is the device's own (a VXLAN's remote), or its bridge master's. */
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;

/** RTM_GETNSID attributes. */
export const NETNSA_NSID = 1;
export const NETNSA_FD = 3;

/** close_range(2): mark instead of close, so the report pipe survives until execve. */
export const CLOSE_RANGE_CLOEXEC = 1 << 2;
export const SIG_DFL = 0;

// ---- Host inspection (agent/kernel/procfs.ts): *at() calls relative to a /proc/<pid> fd ----
/** statx(fd, "", AT_EMPTY_PATH, …) describes the open fd itself. */
export const AT_EMPTY_PATH = 0x1000;
/** statx mask bit: only st_uid is wanted. */
export const STATX_UID = 0x8;
/** Offset of stx_uid in struct statx (same on every architecture). */
export const STATX_UID_OFFSET = 20;

// ---- Layer unpacking (agent/kernel/directory-fds.ts): building a tree relative to one directory ----
/** open(2) flags the unpacker needs; O_NOFOLLOW, like O_DIRECTORY, differs on aarch64. */
export const O_EXCL = 0o200;
export const O_NOFOLLOW = supportedArch() === 'arm64' ? 0o100000 : 0o400000;
/** *at() flags: act on a symlink itself rather than its target; remove a directory (unlinkat). */
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
/** openat2(2) struct open_how.resolve bits: how the kernel may walk the path. */
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
/** File type bits of st_mode (<sys/stat.h>). */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
/** statx(2): which fields to fill, and where they sit in struct statx (same on every architecture). */
export const STATX_TYPE = 0x1;
export const STATX_MODE = 0x2;
export const STATX_INO = 0x100;
export const STATX_MODE_OFFSET = 28;
export const STATX_INO_OFFSET = 32;
export const STATX_RDEV_MAJOR_OFFSET = 128;
export const STATX_RDEV_MINOR_OFFSET = 132;

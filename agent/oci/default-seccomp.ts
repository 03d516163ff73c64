/*
 * The default seccomp profile: what a container may not ask the kernel, unless you say otherwise.
 *
 * Namespaces decide what a container can *see*, capabilities what its root may *do*. Both stop at
 * the kernel's door: every system call still runs kernel code, and a bug in rarely used kernel
 * code is a way out of any namespace. Docker therefore puts a seccomp filter on every container
 * (`docker run` without `--security-opt seccomp=…`), and so does Containers Lab: an allow-list
 * with `defaultAction: SCMP_ACT_ERRNO` and errno EPERM — a call nobody listed fails with
 * "Operation not permitted" and the kernel code behind it never runs. About 300 calls are allowed;
 * roughly 75 are refused, in these groups (REFUSED below says why for each):
 *
 *   the kernel keyring      keyctl, add_key, request_key: keys are not namespaced
 *   namespaces              unshare, setns, clone with CLONE_NEW* flags, clone3
 *   mounts                  mount, umount2, pivot_root, the new mount API (fsopen, move_mount, …)
 *   the whole machine       reboot, kexec_*, swapon/swapoff, acct, settimeofday/clock_settime,
 *                           init_module/finit_module/delete_module, quotactl, syslog, iopl/ioperm
 *   kernel attack surface   bpf, perf_event_open, io_uring_*, userfaultfd, fanotify_init
 *   escapes by file handle  open_by_handle_at, name_to_handle_at ("shocker", 2014)
 *   odd personalities       personality(2) except Linux's own (ADDR_NO_RANDOMIZE switches ASLR off)
 *   two socket families     AF_ALG (the kernel's crypto API) and AF_VSOCK (the hypervisor's sockets)
 *
 * Most of these need a capability anyway (mount needs CAP_SYS_ADMIN). The filter is a second wall,
 * and it matters exactly where the first has holes: in a user namespace a process holds every
 * capability over its own namespaces, so unshare(CLONE_NEWUSER) would hand "root" — and all the
 * kernel code that trusts root in a namespace — to anyone (CVE-2022-0185 began that way).
 *
 * Like Docker's, the profile is computed per container from its capabilities: a capability you add
 * brings the calls it exists for. `--cap-add SYS_ADMIN` allows mount, unshare, setns, sethostname,
 * pivot_root and clone with any flags; `--cap-add SYS_TIME` settimeofday; SYS_CHROOT (a default
 * capability) chroot; SYS_PTRACE kcmp and pidfd_getfd. ptrace itself is allowed, as Docker allows
 * it on Linux ≥ 4.8: before 4.8 a tracer could rewrite a traced call *after* seccomp had checked it,
 * so ptrace was a way around any filter; since 4.8 the kernel checks again after the tracer.
 *
 * Rather than list 300 harmless calls by hand, the allow-list is every call this project's system
 * call table knows (agent/kernel/syscall-table.generated.ts) minus the groups below. One guard
 * keeps it an allow-list in spirit: a call numbered after the newest one reviewed here
 * (LAST_REVIEWED) is refused until someone reads what it does — new kernels add calls every year.
 *
 * `run --seccomp unconfined` runs without any filter; `--seccomp FILE` replaces this profile with
 * yours. config.json's annotation lab.containers.seccomp says which one a container has.
 */
import os from 'node:os';
import type { OciSeccomp, OciSeccompArg } from '../protocol';
import type { CapabilityName } from '../protocol/capabilities';
import { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS, supportedArch } from '../kernel/constants';
import { SYSCALL_TABLE } from '../kernel/syscall-table.generated';

const EPERM = 1;
const ENOSYS = 38;

/** removexattrat (Linux 6.13): calls numbered after it (the same number on every architecture since 424) are refused until reviewed. */
export const LAST_REVIEWED = 466;

export interface Refusal {
  names: readonly string[];
  why: string;
  /** Holding any of these lifts the refusal; none: refused whatever the capabilities. */
  grantedBy?: readonly CapabilityName[];
}

export const REFUSED: readonly Refusal[] = [
  { names: ['keyctl', 'add_key', 'request_key'], why: 'the kernel keyring is not namespaced: keys of the host and of other containers would be reachable' },
  { names: ['unshare', 'setns'], why: 'new or other namespaces: a user namespace hands out capabilities over kernel code written for real root', grantedBy: ['CAP_SYS_ADMIN'] },
  {
    names: ['mount', 'umount2', 'pivot_root', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'mount_setattr'],
    why: 'mounting changes what the container sees and exercises filesystem code with crafted input (Docker never allows pivot_root; it adds nothing to mount, so SYS_ADMIN brings it here)',
    grantedBy: ['CAP_SYS_ADMIN'],
  },
  { names: ['sethostname', 'setdomainname'], why: 'gated like the other CAP_SYS_ADMIN calls (in a UTS namespace they change only the container\'s name)', grantedBy: ['CAP_SYS_ADMIN'] },
  { names: ['init_module', 'finit_module', 'delete_module'], why: 'kernel modules are code in the host kernel', grantedBy: ['CAP_SYS_MODULE'] },
  { names: ['create_module', 'query_module', 'get_kernel_syms'], why: 'module calls removed in Linux 2.6: nothing legitimate uses them' },
  { names: ['kexec_load', 'kexec_file_load'], why: 'would boot another kernel in place of the host\'s' },
  { names: ['reboot'], why: 'reboots the host (in a PID namespace with CAP_SYS_BOOT it only ends the namespace)', grantedBy: ['CAP_SYS_BOOT'] },
  { names: ['settimeofday', 'clock_settime'], why: 'the clock is not namespaced: it is the host\'s time', grantedBy: ['CAP_SYS_TIME'] },
  { names: ['swapon', 'swapoff'], why: 'swap is the host\'s, never a container\'s' },
  { names: ['acct'], why: 'process accounting is host-wide and could be switched off', grantedBy: ['CAP_SYS_PACCT'] },
  { names: ['quotactl', 'quotactl_fd'], why: 'disk quotas are the host\'s', grantedBy: ['CAP_SYS_ADMIN'] },
  { names: ['syslog'], why: 'the kernel log reveals host addresses and other containers\' messages', grantedBy: ['CAP_SYS_ADMIN', 'CAP_SYSLOG'] },
  { names: ['vhangup'], why: 'hangs up the terminal for every process on it', grantedBy: ['CAP_SYS_TTY_CONFIG'] },
  { names: ['iopl', 'ioperm'], why: 'raw access to I/O ports of the hardware', grantedBy: ['CAP_SYS_RAWIO'] },
  { names: ['chroot'], why: 'goes with its capability, a default one: --cap-drop SYS_CHROOT takes the call away too', grantedBy: ['CAP_SYS_CHROOT'] },
  { names: ['kcmp', 'pidfd_getfd', 'process_madvise'], why: 'reach into another process\'s files and memory', grantedBy: ['CAP_SYS_PTRACE'] },
  { names: ['bpf'], why: 'eBPF programs run in the kernel: a large, often-exploited surface', grantedBy: ['CAP_SYS_ADMIN', 'CAP_BPF'] },
  { names: ['perf_event_open'], why: 'performance counters leak information across the machine and have had many bugs', grantedBy: ['CAP_SYS_ADMIN', 'CAP_PERFMON'] },
  { names: ['fanotify_init', 'lookup_dcookie'], why: 'watch or name files across the whole machine', grantedBy: ['CAP_SYS_ADMIN'] },
  { names: ['lsm_get_self_attr', 'lsm_set_self_attr', 'lsm_list_modules'], why: 'security-module state is the host\'s policy (gated as Docker does)', grantedBy: ['CAP_SYS_ADMIN'] },
  { names: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'], why: 'io_uring runs operations that are not system calls, so no seccomp rule sees them; a rich source of kernel exploits' },
  { names: ['userfaultfd'], why: 'lets a process stall the kernel mid-copy: the classic way to win an exploit\'s race' },
  { names: ['mbind', 'set_mempolicy', 'get_mempolicy', 'set_mempolicy_home_node'], why: 'NUMA placement of memory is the host\'s to decide', grantedBy: ['CAP_SYS_NICE'] },
  { names: ['move_pages', 'migrate_pages'], why: 'move another process\'s memory between NUMA nodes' },
  { names: ['open_by_handle_at', 'name_to_handle_at'], why: 'a file handle opens any file of a filesystem, past the container\'s root (the 2014 "shocker" escape)', grantedBy: ['CAP_DAC_READ_SEARCH'] },
  { names: ['_sysctl', 'sysfs', 'ustat', 'uselib', 'nfsservctl'], why: 'obsolete calls, removed or replaced long ago: only old exploits use them' },
  { names: ['afs_syscall', 'getpmsg', 'putpmsg', 'security', 'tuxcall', 'vserver', 'arch_specific_syscall'], why: 'never implemented: numbers reserved for out-of-tree code' },
];

/** Docker allows these on Linux ≥ 4.8 (see above); on older kernels only with CAP_SYS_PTRACE. */
const PTRACE_FAMILY: Refusal = { names: ['ptrace', 'process_vm_readv', 'process_vm_writev'], why: 'before Linux 4.8 a tracer could change a call after seccomp checked it', grantedBy: ['CAP_SYS_PTRACE'] };

/** The namespace flags clone(2) may not carry without CAP_SYS_ADMIN. */
export const CLONE_NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

/*
 * personality(2) values that are Linux's own: PER_LINUX (0), PER_LINUX32 (8, what `linux32` sets),
 * UNAME26 (0x20000, an old kernel version for old programs), both, and 0xffffffff (only asks).
 * Everything else — ADDR_NO_RANDOMIZE above all, which turns address randomisation off — is refused.
 */
export const PERSONALITIES = [0x0, 0x0008, 0x20000, 0x20008, 0xffffffff] as const;

/** Socket families (AF_UNIX 1 … AF_MCTP 45) but AF_ALG (38: the kernel's crypto API) and AF_VSOCK (40: to the hypervisor). */
export const REFUSED_SOCKET_FAMILIES: Readonly<Record<number, string>> = { 38: 'AF_ALG', 40: 'AF_VSOCK' };
const LAST_SOCKET_FAMILY = 45;

/** Calls with argument rules: never in the plain allow-list. */
const BY_ARGUMENT = ['clone', 'clone3', 'personality', 'socket'];

const SCMP_ARCH = { x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64' } as const;

/** Linux ≥ 4.8, read from uname: whether ptrace can no longer be used to get around a filter. */
function kernelChecksAfterTracer(release = os.release()): boolean {
  const [major = 0, minor = 0] = release.split(/[.-]/).map(Number);
  return major > 4 || (major === 4 && minor >= 8);
}

const granted = (refusal: Refusal, capabilities: ReadonlySet<string>): boolean => (refusal.grantedBy ?? []).some((cap) => capabilities.has(cap));
const allow = (names: readonly string[]): NonNullable<OciSeccomp['syscalls']>[number] => ({ names: [...names], action: 'SCMP_ACT_ALLOW' });
const argAllow = (name: string, arg: OciSeccompArg): NonNullable<OciSeccomp['syscalls']>[number] => ({ names: [name], action: 'SCMP_ACT_ALLOW', args: [arg] });

function buildProfile(capabilities: ReadonlySet<string>): OciSeccomp {
  const refusals = kernelChecksAfterTracer() ? REFUSED : [...REFUSED, PTRACE_FAMILY];
  const refused = new Set([...refusals.flatMap((refusal) => refusal.names), ...BY_ARGUMENT]);
  const arch = supportedArch();
  // Every name the table knows on either architecture, numbered up to LAST_REVIEWED: like Docker's,
  // the document names calls of more than one ABI, and the compiler skips those this machine lacks.
  const known = [...new Set([...Object.keys(SYSCALL_TABLE.x64), ...Object.keys(SYSCALL_TABLE.arm64)])]
    .filter((name) => Object.values(SYSCALL_TABLE).every((table) => (table[name] ?? 0) <= LAST_REVIEWED));
  const syscalls: NonNullable<OciSeccomp['syscalls']> = [allow(known.filter((name) => !refused.has(name)).sort())];
  // What the container's capabilities bring back, one rule per group so the document shows why.
  for (const refusal of refusals) if (granted(refusal, capabilities)) syscalls.push(allow(refusal.names));
  if (capabilities.has('CAP_SYS_ADMIN')) {
    syscalls.push(allow(['clone', 'clone3']));
  } else {
    // clone(flags, …): allowed when (flags & CLONE_NEW*) == 0 — fork and threads, no namespaces.
    syscalls.push(argAllow('clone', { index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }));
    // clone3 passes its flags in a struct in memory, which a filter cannot read: ENOSYS makes the C
    // library fall back to clone, whose flags it can check.
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  for (const persona of PERSONALITIES) syscalls.push(argAllow('personality', { index: 0, value: persona, op: 'SCMP_CMP_EQ' }));
  for (let family = 1; family <= LAST_SOCKET_FAMILY; family += 1) {
    if (!(family in REFUSED_SOCKET_FAMILIES)) syscalls.push(argAllow('socket', { index: 0, value: family, op: 'SCMP_CMP_EQ' }));
  }
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, architectures: [SCMP_ARCH[arch]], syscalls };
}

/** Only the capabilities some rule depends on make two profiles differ. */
const RELEVANT = new Set<string>([...REFUSED, PTRACE_FAMILY].flatMap((refusal) => refusal.grantedBy ?? []));

/** Per set of relevant capabilities: the profile, and its JSON text once something compared against it. */
const cache = new Map<string, { profile: OciSeccomp; text?: string }>();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * The default profile for a container whose bounding set is `capabilities` — the same (frozen)
 * object for every container with the same relevant capabilities, so it is built, and compiled
 * (runtime/process/security-plan.ts), once per capability set.
 */
export function defaultSeccompProfile(capabilities: readonly string[]): OciSeccomp {
  return cached(capabilities).profile;
}

function cached(capabilities: readonly string[]): { profile: OciSeccomp; text?: string } {
  const relevant = new Set(capabilities.filter((cap) => RELEVANT.has(cap)));
  const key = [...relevant].sort().join(',');
  let entry = cache.get(key);
  if (!entry) {
    entry = { profile: deepFreeze(buildProfile(relevant)) };
    cache.set(key, entry);
  }
  return entry;
}

/** Whether `profile` is the default for these capabilities (the very object, or an equal copy read back from disk). */
export function isDefaultSeccompProfile(profile: OciSeccomp, capabilities: readonly string[]): boolean {
  const entry = cached(capabilities);
  if (profile === entry.profile) return true;
  entry.text ??= JSON.stringify(entry.profile);
  return JSON.stringify(profile) === entry.text;
}

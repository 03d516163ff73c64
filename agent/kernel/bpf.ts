/*
 * bpf(2): loading an eBPF program into the kernel and attaching it to a cgroup.
 *
 * eBPF ("extended BPF") is the kernel's general-purpose in-kernel virtual machine. It grew out of
 * classic BPF — the 1992 packet-filter language that seccomp still uses (../runtime/seccomp.ts):
 * one accumulator, one index register, 32-bit words. eBPF has eleven 64-bit registers (r0 holds
 * the return value, r1 the pointer to the program's context, r10 the stack), 8-byte instructions,
 * real calls, and one system call for everything: bpf(cmd, union bpf_attr *attr, size). Before a
 * program runs, the kernel's *verifier* proves it safe — every path ends, no read leaves the
 * context struct, no register is used before it is set — and only then compiles it to machine
 * code. A program that fails verification is refused with EACCES/EINVAL and, if asked for, a log
 * of the verifier's reasoning (see loadProgram below).
 *
 * Where seccomp filters are installed on a *process* (prctl/seccomp), eBPF programs of the cgroup
 * types are attached to a *cgroup directory*: the kernel runs them for every process in that
 * cgroup and below. Attached, a program lives as long as the cgroup holds it, so the agent closes
 * its own descriptors right away and the program goes when the cgroup is removed (rmdir).
 *
 * The three commands used here, with their struct bpf_attr layouts (<linux/bpf.h>):
 *   BPF_PROG_LOAD    prog_type u32 @0, insn_cnt u32 @4, insns u64 @8, license u64 @16,
 *                    log_level u32 @24, log_size u32 @28, log_buf u64 @32, kern_version u32 @40,
 *                    prog_flags u32 @44, prog_name char[16] @48            → a program fd
 *   BPF_PROG_ATTACH  target_fd u32 @0, attach_bpf_fd u32 @4, attach_type u32 @8, attach_flags u32 @12
 *   BPF_PROG_QUERY   target_fd u32 @0, attach_type u32 @4, query_flags u32 @8, attach_flags u32 @12,
 *                    prog_ids u64 @16, prog_cnt u32 @24                    → ids and count
 * The attr is passed by address, so it (and the instructions, license and log it points at) lives
 * in native memory the kernel can read: a small mmap'd arena, released after each call.
 * glibc has no bpf() wrapper: it goes through syscall(2) with the architecture's number.
 */
import { check, declare, errorFor, lastErrno } from './libc';
import { NativeArena } from './native-memory';
import { supportedArch } from './constants';
import { SYSCALL_TABLE } from './syscall-table.generated';

const syscall_ = declare('long syscall(long number, ...)');
const pthreadSigmask_ = declare('int pthread_sigmask(int how, const uint8_t *set, _Out_ uint8_t *oldset)');
const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
/** glibc's sigset_t: 1024 bits. */
const SIGSET_BYTES = 128;

/**
 * Runs `call` with this thread's signals blocked. The verifier gives up with EAGAIN as soon as a
 * signal is pending for the thread that loads (a profiler's SIGPROF every millisecond, a child's
 * SIGCHLD in the service); blocked here, a process-directed signal goes to another thread, or waits.
 */
function withSignalsBlocked<T>(call: () => T): T {
  const previous = Buffer.alloc(SIGSET_BYTES);
  // pthread_sigmask returns the error number itself (0 on success), not -1 and errno
  const failed = pthreadSigmask_(SIG_BLOCK, Buffer.alloc(SIGSET_BYTES, 0xff), previous) as number;
  if (failed !== 0) throw errorFor('pthread_sigmask', 'SIG_BLOCK', failed);
  try {
    return call();
  } finally {
    pthreadSigmask_(SIG_SETMASK, previous, null);
  }
}
const SYS_BPF = SYSCALL_TABLE[supportedArch()].bpf!;

// Commands (enum bpf_cmd).
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_QUERY = 16;

/** enum bpf_prog_type: a program run on device access by processes of a cgroup (Linux 4.15). */
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
/** enum bpf_attach_type: where in the cgroup such a program hooks in. */
export const BPF_CGROUP_DEVICE = 6;
/**
 * Attach flag: several programs may sit on one cgroup and on its ancestors, and *all* of them
 * run — an access is allowed only if every one allows it. A container's program therefore
 * narrows whatever its parents (systemd's, another runtime's) already allow; it can never widen it.
 */
export const BPF_F_ALLOW_MULTI = 1 << 1;

/** One eBPF instruction is 8 bytes: opcode, dst/src registers, 16-bit offset, 32-bit immediate. */
export const BPF_INSTRUCTION_BYTES = 8;
const OBJECT_NAME_BYTES = 16;
const LOG_BYTES = 64 * 1024;

function bpf(command: number, attr: bigint, size: number): number {
  return Number(syscall_(SYS_BPF, 'int', command, 'uintptr_t', attr, 'unsigned int', size) as number | bigint);
}

function copyInto(arena: NativeArena, bytes: Buffer, align = 8): bigint {
  const { address, offset } = arena.allocate(Math.max(bytes.length, 1), align);
  bytes.copy(arena.bytes, offset);
  return address;
}

export interface LoadOptions {
  /** Shown by `bpftool prog` as the program's name: up to 15 letters, digits, '_' or '.'. */
  name: string;
  /** The kernel lets GPL-only helpers be called only from programs that declare "GPL". */
  license?: string;
}

/**
 * BPF_PROG_LOAD: hands `instructions` (little-endian struct bpf_insn, 8 bytes each) to the
 * verifier and returns the loaded program's fd. On refusal the load is repeated once with the
 * verifier's log switched on, so the error says why.
 */
export function loadProgram(programType: number, instructions: Buffer, options: LoadOptions): number {
  if (!/^[A-Za-z0-9_.]{1,15}$/.test(options.name)) throw new Error(`bpf program name ${JSON.stringify(options.name)}: use 1-15 letters, digits, '_' or '.'`);
  if (instructions.length === 0 || instructions.length % BPF_INSTRUCTION_BYTES !== 0) {
    throw new Error(`bpf(BPF_PROG_LOAD): ${instructions.length} bytes is not a whole number of 8-byte instructions`);
  }
  const attempt = (withLog: boolean): { fd: number; errno: number; log: string } => {
    const arena = new NativeArena(instructions.length + 4096 + (withLog ? LOG_BYTES : 0));
    try {
      const insns = copyInto(arena, instructions);
      const license = arena.cString(options.license ?? 'GPL');
      const log = withLog ? arena.zeroed(LOG_BYTES, 8) : 0n;
      const attr = arena.zeroed(128, 8);
      const at = arena.offsetOf(attr);
      const view = arena.bytes;
      view.writeUInt32LE(programType, at);
      view.writeUInt32LE(instructions.length / BPF_INSTRUCTION_BYTES, at + 4);
      view.writeBigUInt64LE(insns, at + 8);
      view.writeBigUInt64LE(license, at + 16);
      if (withLog) {
        view.writeUInt32LE(1, at + 24);
        view.writeUInt32LE(LOG_BYTES, at + 28);
        view.writeBigUInt64LE(log, at + 32);
      }
      Buffer.from(options.name).copy(view, at + 48, 0, OBJECT_NAME_BYTES - 1);
      const fd = withSignalsBlocked(() => bpf(BPF_PROG_LOAD, attr, 72));
      const errno = fd < 0 ? lastErrno() : 0;
      const logText = withLog ? view.toString('utf8', arena.offsetOf(log), arena.offsetOf(log) + LOG_BYTES).replace(/\0[\s\S]*$/, '').trim() : '';
      return { fd, errno, log: logText };
    } finally {
      arena.release();
    }
  };
  const first = attempt(false);
  if (first.fd >= 0) return first.fd;
  const second = attempt(true);
  if (second.fd >= 0) return second.fd; // it passed the second time: keep it
  const lastLines = second.log.split('\n').slice(-4).join(' | ');
  throw errorFor('bpf', `BPF_PROG_LOAD ${options.name}, ${instructions.length / BPF_INSTRUCTION_BYTES} instructions${lastLines ? `; verifier: ${lastLines}` : ''}`, second.errno || first.errno);
}

/** BPF_PROG_ATTACH: runs program `programFd` for the cgroup open at `cgroupFd` (an O_DIRECTORY fd). */
export function attachProgram(cgroupFd: number, programFd: number, attachType: number, flags: number, what: string): void {
  const arena = new NativeArena(4096);
  try {
    const attr = arena.zeroed(32, 8);
    const at = arena.offsetOf(attr);
    arena.bytes.writeUInt32LE(cgroupFd, at);
    arena.bytes.writeUInt32LE(programFd, at + 4);
    arena.bytes.writeUInt32LE(attachType, at + 8);
    arena.bytes.writeUInt32LE(flags, at + 12);
    check('bpf', `BPF_PROG_ATTACH → ${what}`, bpf(BPF_PROG_ATTACH, attr, 20));
  } finally {
    arena.release();
  }
}

/** BPF_PROG_QUERY: the ids of the programs attached to the cgroup at `cgroupFd` (this cgroup only, not its parents). */
export function queryPrograms(cgroupFd: number, attachType: number, what: string): { ids: number[]; attachFlags: number } {
  const capacity = 64; // the kernel allows at most 64 programs per cgroup and attach type
  const arena = new NativeArena(4096);
  try {
    const ids = arena.zeroed(4 * capacity, 8);
    const attr = arena.zeroed(32, 8);
    const at = arena.offsetOf(attr);
    const view = arena.bytes;
    view.writeUInt32LE(cgroupFd, at);
    view.writeUInt32LE(attachType, at + 4);
    view.writeBigUInt64LE(ids, at + 16);
    view.writeUInt32LE(capacity, at + 24);
    check('bpf', `BPF_PROG_QUERY ${what}`, bpf(BPF_PROG_QUERY, attr, 28));
    const count = view.readUInt32LE(at + 24);
    const first = arena.offsetOf(ids);
    return {
      ids: Array.from({ length: Math.min(count, capacity) }, (_, index) => view.readUInt32LE(first + 4 * index)),
      attachFlags: view.readUInt32LE(at + 12),
    };
  } finally {
    arena.release();
  }
}

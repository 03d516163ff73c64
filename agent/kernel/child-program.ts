/*
 * Starting a process in new namespaces from Node, without running JavaScript in the child.
 *
 * A container is a process created by clone(2) with CLONE_NEW* flags. Node cannot do that
 * itself, and a clone()d copy of Node cannot run JavaScript (V8's heap is not copied), so the
 * child must run only native code the parent prepared. We give it a tiny "program": a list of
 * C library calls with fixed arguments — read(sync pipe), mount(proc), dup2, execve, … — built
 * from ucontext(3) contexts. makecontext(3) prepares a context that calls one function with its
 * arguments on its own stack; its `uc_link` names the context to switch to when that function
 * returns. Chaining contexts gives a straight-line program; glibc's clone(3) starts the child
 * in setcontext(first context), so the child steps through the calls and ends in execve(2).
 *
 * The program cannot branch on results. Instead the parent watches: the child blocks in read()
 * on a pipe at each checkpoint, the parent configures it from outside (uid maps, cgroups, veth,
 * mounts in its mount namespace) and checks the kernel's view before letting it continue.
 *
 * The ucontext_t layout is per architecture (the only architecture-specific part): the offsets
 * of uc_link and uc_stack are the same on x86-64 and aarch64, uc_sigmask and the size differ.
 */
import { declare, errorFor } from './libc';
import { NativeArena, functionAddress, type Address } from './native-memory';
import { SIGCHLD, supportedArch, type SupportedArch } from './constants';

interface UcontextLayout {
  size: number;
  link: number;
  stackPointer: number;
  stackFlags: number;
  stackSize: number;
  sigmask: number;
}

/** glibc's struct ucontext_t (sys/ucontext.h) on the two architectures the lab runs on. */
export const UCONTEXT_LAYOUTS: Record<SupportedArch, UcontextLayout> = {
  // unsigned long uc_flags; ucontext_t *uc_link; stack_t uc_stack; mcontext_t uc_mcontext
  // (gregs[23], fpregs*, reserved[8]); sigset_t uc_sigmask; fpstate; ssp[4]
  x64: { size: 968, link: 8, stackPointer: 16, stackFlags: 24, stackSize: 32, sigmask: 296 },
  // uc_flags; uc_link; uc_stack; sigset_t uc_sigmask; (pad) mcontext_t uc_mcontext (16-aligned,
  // with a 4 KiB __reserved area for FP/SIMD state)
  arm64: { size: 4560, link: 8, stackPointer: 16, stackFlags: 24, stackSize: 32, sigmask: 40 },
};

const SIGSET_BYTES = 128;
const STEP_STACK_BYTES = 32 * 1024;
const CLONE_STACK_BYTES = 64 * 1024;

const getcontext = declare('int getcontext(uintptr_t ucp)');
const makecontext = declare('void makecontext(uintptr_t ucp, uintptr_t func, int argc, ...)');
const clone = declare('int clone(uintptr_t fn, uintptr_t stack, int flags, uintptr_t arg, ...)');

export type Argument = number | bigint | string | null;

interface Step {
  fn: string;
  args: Argument[];
}

/**
 * A straight-line list of C library calls for a child process. Strings are copied into native
 * memory as C strings; numbers are passed as machine words (pointers are Address bigints).
 */
export class ChildProgram {
  private readonly steps: Step[] = [];
  readonly arena: NativeArena;

  constructor(arenaBytes = 2 * 1024 * 1024) {
    this.arena = new NativeArena(arenaBytes);
  }

  call(fn: string, ...args: Argument[]): this {
    if (args.length > 6) throw new Error(`${fn}: at most 6 arguments fit in registers`);
    this.steps.push({ fn, args });
    return this;
  }

  get length(): number {
    return this.steps.length;
  }

  /**
   * Builds the contexts back to front (each must know its successor) and clones a child that
   * starts running the first one. Returns the child's PID in the caller's PID namespace.
   * The arena is released in the parent: the child has its own copy from the moment of clone.
   */
  start(cloneFlags: number, arch: SupportedArch = supportedArch()): number {
    try {
      const layout = UCONTEXT_LAYOUTS[arch];
      let next: Address = 0n;
      for (let index = this.steps.length - 1; index >= 0; index -= 1) {
        next = this.context(this.steps[index]!, next, layout);
      }
      const stack = this.arena.zeroed(CLONE_STACK_BYTES);
      const stackTop = stack + BigInt(CLONE_STACK_BYTES);
      const pid = clone(functionAddress('setcontext'), stackTop, cloneFlags | SIGCHLD, next) as number;
      if (pid < 0) throw errorFor('clone', `flags 0x${cloneFlags.toString(16)}`);
      return pid;
    } finally {
      this.arena.release();
    }
  }

  private context(step: Step, link: Address, layout: UcontextLayout): Address {
    const { address, offset } = this.arena.allocate(layout.size, 16);
    const stack = this.arena.zeroed(STEP_STACK_BYTES);
    if ((getcontext(address) as number) !== 0) throw errorFor('getcontext', step.fn);
    const bytes = this.arena.bytes;
    bytes.writeBigUInt64LE(link, offset + layout.link);
    bytes.writeBigUInt64LE(stack, offset + layout.stackPointer);
    bytes.writeInt32LE(0, offset + layout.stackFlags);
    bytes.writeBigUInt64LE(BigInt(STEP_STACK_BYTES), offset + layout.stackSize);
    // setcontext restores this signal mask: the child runs (and execs) with nothing blocked.
    bytes.fill(0, offset + layout.sigmask, offset + layout.sigmask + SIGSET_BYTES);
    const variadic: unknown[] = [];
    for (const arg of step.args) variadic.push('uint64', this.word(arg));
    makecontext(address, functionAddress(step.fn), step.args.length, ...variadic);
    return address;
  }

  private word(arg: Argument): bigint {
    if (arg === null) return 0n;
    if (typeof arg === 'string') return this.arena.cString(arg);
    if (typeof arg === 'bigint') return BigInt.asUintN(64, arg);
    return BigInt.asUintN(64, BigInt(arg));
  }
}

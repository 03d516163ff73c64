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
 * The child shares the agent's memory (CLONE_VM): copying the page tables of a 50 MB Node
 * process for every container (what fork does) costs milliseconds, and the child needs none of
 * it — it runs on stacks in the native arena, which the agent keeps mapped until the child has
 * exec'd (its own fresh memory then) or died. Sharing memory is safe because the child makes only
 * raw system calls through syscall(2): no libc wrapper that touches thread state (cancellation
 * flags, setxid broadcasts, locks) in memory the agent's threads also use. All signals stay
 * blocked until the step that execs, so no Node signal handler can ever run in the child.
 *
 * The ucontext_t layout is per architecture (with the system-call numbers, the only
 * architecture-specific part): the offsets of uc_link and uc_stack are the same on x86-64 and
 * aarch64, uc_sigmask and the size differ.
 */
import { declare, errorFor } from './libc';
import { NativeArena, functionAddress, type Address } from './native-memory';
import { CLONE_VM, SIGCHLD, supportedArch, syscallNumbers, type SupportedArch, type SyscallName } from './constants';

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

/** The kernel's sigset is 64 bits; glibc's sigset_t reserves 128 bytes. */
const KERNEL_SIGSET_BYTES = 8;
const SIGSET_BYTES = 128;
const STEP_STACK_BYTES = 16 * 1024;
const CLONE_STACK_BYTES = 64 * 1024;

const getcontext = declare('int getcontext(uintptr_t ucp)');
const makecontext = declare('void makecontext(uintptr_t ucp, uintptr_t func, int argc, ...)');
const clone = declare('int clone(uintptr_t fn, uintptr_t stack, int flags, uintptr_t arg, ...)');

export type Argument = number | bigint | string | null;

interface Step {
  fn: string;
  args: Argument[];
  signalsBlocked: boolean;
}

/**
 * A straight-line list of C library calls for a child process. Strings are copied into native
 * memory as C strings; numbers are passed as machine words (pointers are Address bigints).
 */
export class ChildProgram {
  private readonly steps: Step[] = [];
  private signalsBlocked = true;
  readonly arena: NativeArena;
  private readonly numbers: Readonly<Record<SyscallName, number>>;

  constructor(readonly arch: SupportedArch = supportedArch(), arenaBytes = 2 * 1024 * 1024) {
    this.arena = new NativeArena(arenaBytes);
    this.numbers = syscallNumbers(arch);
  }

  /** A step calling a C library function by name (up to 7 word-sized arguments). */
  call(fn: string, ...args: Argument[]): this {
    if (args.length > 7) throw new Error(`${fn}: at most 7 arguments`);
    this.steps.push({ fn, args, signalsBlocked: this.signalsBlocked });
    return this;
  }

  /** A step making one raw system call: syscall(2) with this architecture's number. */
  syscall(name: SyscallName, ...args: Argument[]): this {
    return this.call('syscall', this.numbers[name], ...args);
  }

  /** Steps added from now on run with no signal blocked (the exec step and after). */
  unblockSignals(): this {
    this.signalsBlocked = false;
    return this;
  }

  get length(): number {
    return this.steps.length;
  }

  /** The raw system calls of the steps from `index` on, as (number, arguments): what a seccomp filter installed at `index` will be asked about. */
  syscallsFrom(index: number): { nr: number; args: bigint[] }[] {
    return this.steps.slice(index).filter((step) => step.fn === 'syscall').map((step) => {
      const [nr, ...args] = step.args.map((arg) => (typeof arg === 'string' ? 0n : this.word(arg)));
      return { nr: Number(nr), args };
    });
  }

  /**
   * Builds the contexts back to front (each must know its successor) and clones a child that
   * shares this process's memory and starts running the first one. Returns its PID in the
   * caller's PID namespace. The caller must keep this program until the child has exec'd or
   * has been reaped, then call release().
   */
  start(cloneFlags: number, options: { shareMemory?: boolean } = {}): number {
    // Without shared memory (fork semantics) the child works on its own copy; only emulators
    // that cannot share an address space with a non-thread (qemu-user) need that.
    const memory = options.shareMemory === false ? 0 : CLONE_VM;
    const layout = UCONTEXT_LAYOUTS[this.arch];
    let next: Address = this.endContext(layout);
    for (let index = this.steps.length - 1; index >= 0; index -= 1) {
      next = this.context(this.steps[index]!, next, layout);
    }
    const stack = this.arena.allocate(CLONE_STACK_BYTES).address;
    const stackTop = stack + BigInt(CLONE_STACK_BYTES);
    const pid = clone(functionAddress('setcontext'), stackTop, cloneFlags | memory | SIGCHLD, next) as number;
    if (pid < 0) throw errorFor('clone', `flags 0x${cloneFlags.toString(16)}`);
    return pid;
  }

  /** Unmaps the arena: only once the child no longer runs in it. */
  release(): void {
    this.arena.release();
  }

  /**
   * Where the chain ends if its steps do not: exit_group(127), linked to itself. A context with no
   * successor would return into glibc's exit(), which runs the agent's atexit handlers on the
   * memory this child shares with it; a loop of exit_group — which no seccomp filter of ours may
   * refuse (../runtime/seccomp.ts) — ends the child instead.
   */
  private endContext(layout: UcontextLayout): Address {
    const end = this.context({ fn: 'syscall', args: [this.numbers.exit_group, 127], signalsBlocked: true }, 0n, layout);
    this.arena.bytes.writeBigUInt64LE(end, this.arena.offsetOf(end) + layout.link);
    return end;
  }

  private context(step: Step, link: Address, layout: UcontextLayout): Address {
    const { address, offset } = this.arena.allocate(layout.size, 16);
    // The arena comes fresh from mmap: already zero, nothing to clear.
    const stack = this.arena.allocate(STEP_STACK_BYTES).address;
    if ((getcontext(address) as number) !== 0) throw errorFor('getcontext', step.fn);
    const bytes = this.arena.bytes;
    bytes.writeBigUInt64LE(link, offset + layout.link);
    bytes.writeBigUInt64LE(stack, offset + layout.stackPointer);
    bytes.writeInt32LE(0, offset + layout.stackFlags);
    bytes.writeBigUInt64LE(BigInt(STEP_STACK_BYTES), offset + layout.stackSize);
    // setcontext installs this signal mask before calling the step's function.
    bytes.fill(0, offset + layout.sigmask, offset + layout.sigmask + SIGSET_BYTES);
    if (step.signalsBlocked) bytes.fill(0xff, offset + layout.sigmask, offset + layout.sigmask + KERNEL_SIGSET_BYTES);
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

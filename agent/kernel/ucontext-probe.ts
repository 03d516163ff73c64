/*
 * Checking the ucontext_t layout against the C library that is actually loaded.
 *
 * ./child-program writes four fields of glibc's ucontext_t by offset (uc_link, uc_stack,
 * uc_sigmask) and allocates `size` bytes per context. Those numbers come from
 * <sys/ucontext.h> and differ between x86-64 and aarch64; a wrong one does not fail loudly —
 * the child silently keeps the agent's blocked signals, or jumps to garbage after clone().
 * This probe asks glibc itself, with no C compiler, on whatever architecture Node runs on:
 *
 * - uc_sigmask: block a distinctive set of signals, call getcontext(3) into a buffer filled
 *   with a known pattern, and look for the one place the mask word landed.
 * - size: the highest byte getcontext(3) wrote must lie inside the size we allocate.
 * - uc_link and uc_stack: makecontext(3) reads the stack we wrote at our offsets and turns it
 *   into the context's stack pointer, and stores uc_link where its trampoline will find it
 *   (on the new stack on x86-64, in register x19 on aarch64). Both results are searched for.
 *
 * The probe also exports the signal-mask calls the tests need to make a wrong offset visible:
 * a child must not inherit what the agent's thread had blocked.
 */
import { check, declare } from './libc';
import { NativeArena, functionAddress, type Address } from './native-memory';
import { supportedArch, type SupportedArch } from './constants';
import { UCONTEXT_LAYOUTS } from './child-program';

const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
const SIGSET_BYTES = 128;

const pthreadSigmask = declare('int pthread_sigmask(int how, uintptr_t set, uintptr_t oldset)');
const getcontext = declare('int getcontext(uintptr_t ucp)');
const makecontext = declare('void makecontext(uintptr_t ucp, uintptr_t func, int argc, ...)');

/** The first 64 signals of a sigset_t as one word: bit (n - 1) stands for signal n. */
export function signalMaskWord(signals: readonly number[]): bigint {
  return signals.reduce((word, signal) => word | (1n << BigInt(signal - 1)), 0n);
}

/** The calling thread's blocked-signal mask (first 64 signals). */
export function blockedSignals(): bigint {
  const arena = new NativeArena(4096);
  try {
    const current = arena.zeroed(SIGSET_BYTES);
    check('pthread_sigmask', 'query', pthreadSigmask(SIG_BLOCK, 0, current) as number);
    return arena.bytes.readBigUInt64LE(arena.offsetOf(current));
  } finally {
    arena.release();
  }
}

/** Blocks `signals` on the calling thread; returns a function that restores the previous mask. */
export function blockSignals(signals: readonly number[]): () => void {
  const arena = new NativeArena(4096);
  const set = arena.zeroed(SIGSET_BYTES);
  const previous = arena.zeroed(SIGSET_BYTES);
  arena.bytes.writeBigUInt64LE(signalMaskWord(signals), arena.offsetOf(set));
  try {
    check('pthread_sigmask', `block ${signals.join(',')}`, pthreadSigmask(SIG_BLOCK, set, previous) as number);
  } catch (error) {
    arena.release();
    throw error;
  }
  return () => {
    try {
      check('pthread_sigmask', 'restore', pthreadSigmask(SIG_SETMASK, previous, 0) as number);
    } finally {
      arena.release();
    }
  };
}

export interface UcontextProbe {
  arch: SupportedArch;
  /** Where getcontext stored the signal mask (null: not found exactly once). */
  sigmaskOffset: number | null;
  /** One past the highest byte getcontext wrote. */
  bytesWritten: number;
  /** makecontext derived a stack pointer inside the stack given at our uc_stack offsets. */
  stackUsed: boolean;
  /** makecontext carried our uc_link value somewhere its trampoline reads it. */
  linkUsed: boolean;
  /** Every check agrees with UCONTEXT_LAYOUTS[arch]. */
  matches: boolean;
}

/** Probes glibc's getcontext/makecontext on this machine and compares with UCONTEXT_LAYOUTS. */
export function probeUcontextLayout(arch: SupportedArch = supportedArch()): UcontextProbe {
  const layout = UCONTEXT_LAYOUTS[arch];
  const room = 16384; // larger than any ucontext_t, so a too-small `size` shows up as bytes written past it
  const stackBytes = 4096;
  // Signals nobody else uses on Node's main thread; their bits make an unmistakable word.
  const marker = [12, 28, 31]; // SIGUSR2, SIGWINCH, SIGSYS
  const arena = new NativeArena(room * 2 + stackBytes + 8192);
  const restore = blockSignals(marker);
  try {
    const mask = blockedSignals();
    let bytesWritten = 0;
    let sigmaskOffsets: number[] = [];
    // Two fill patterns: a byte getcontext writes cannot equal both by chance.
    for (const fill of [0xa5, 0x5a]) {
      const { address, offset } = arena.allocate(room, 16);
      arena.bytes.fill(fill, offset, offset + room);
      check('getcontext', 'probe', getcontext(address) as number);
      const view = arena.bytes.subarray(offset, offset + room);
      let last = room - 1;
      while (last >= 0 && view[last] === fill) last -= 1;
      bytesWritten = Math.max(bytesWritten, last + 1);
      sigmaskOffsets = [];
      for (let at = 0; at + 8 <= room; at += 8) if (view.readBigUInt64LE(at) === mask) sigmaskOffsets.push(at);
    }
    const sigmaskOffset = sigmaskOffsets.length === 1 ? sigmaskOffsets[0]! : null;

    // makecontext on the last probed context: our stack and link at the layout's offsets.
    const { address: context, offset: contextOffset } = arena.allocate(layout.size, 16);
    arena.bytes.fill(0, contextOffset, contextOffset + layout.size);
    check('getcontext', 'probe', getcontext(context) as number);
    const stack = arena.zeroed(stackBytes);
    const link: Address = 0x1badc0de0n;
    const bytes = arena.bytes;
    bytes.writeBigUInt64LE(link, contextOffset + layout.link);
    bytes.writeBigUInt64LE(stack, contextOffset + layout.stackPointer);
    bytes.writeInt32LE(0, contextOffset + layout.stackFlags);
    bytes.writeBigUInt64LE(BigInt(stackBytes), contextOffset + layout.stackSize);
    makecontext(context, functionAddress('getpid'), 0);
    const words = (from: number, length: number): bigint[] =>
      Array.from({ length: length / 8 }, (_, index) => bytes.readBigUInt64LE(from + 8 * index));
    const contextWords = words(contextOffset, layout.size).filter((_, index) => index * 8 !== layout.stackPointer && index * 8 !== layout.link);
    const stackTop = stack + BigInt(stackBytes);
    const stackUsed = contextWords.some((word) => word > stack && word <= stackTop);
    const linkUsed = [...contextWords, ...words(arena.offsetOf(stack), stackBytes)].includes(link);

    const matches = sigmaskOffset === layout.sigmask && bytesWritten <= layout.size && stackUsed && linkUsed;
    return { arch, sigmaskOffset, bytesWritten, stackUsed, linkUsed, matches };
  } finally {
    restore();
    arena.release();
  }
}

/*
 * Signal dispositions a new process must not inherit.
 *
 * A child starts with a copy of its parent's signal dispositions. execve(2) resets caught signals
 * to their default action but keeps ignored ones ignored — and Node ignores SIGPIPE and SIGXFSZ,
 * so a container's process started from Node would silently survive writing to a closed pipe
 * (`yes | head` would never end). Until it execs, the child also must never run one of Node's
 * handlers. So the child's first steps reset every signal its parent catches or ignores (SigCgt
 * and SigIgn in /proc/self/status) to the default, while all signals are still blocked.
 */
import { readFileSync } from 'node:fs';
import type { ChildProgram } from '../../kernel/child-program';

const SIGKILL = 9;
const SIGSTOP = 19;
const KERNEL_SIGSET_BYTES = 8;

function signalsInMask(status: string, field: 'SigIgn' | 'SigCgt'): number[] {
  const mask = BigInt(`0x${new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1] ?? '0'}`);
  const signals: number[] = [];
  for (let signal = 1; signal <= 64; signal += 1) {
    if (signal === SIGKILL || signal === SIGSTOP) continue;
    if ((mask >> BigInt(signal - 1)) & 1n) signals.push(signal);
  }
  return signals;
}

/** Signals whose disposition this process changed from the default. */
export function changedSignals(): number[] {
  const status = readFileSync('/proc/self/status', 'utf8');
  return [...new Set([...signalsInMask(status, 'SigIgn'), ...signalsInMask(status, 'SigCgt')])].sort((a, b) => a - b);
}

/**
 * Whether process `pid` has a handler for `signal` now (SigCgt in its /proc status); false when
 * it is gone. For PID 1 of a PID namespace this says whether a signal sent now would be delivered
 * or dropped (see ../lifecycle/stop.ts).
 */
export function catchesSignal(pid: number, signal: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  return signalsInMask(status, 'SigCgt').includes(signal);
}

/**
 * Whether process `pid` ignores `signal` (SigIgn): such a signal is discarded on arrival, whoever
 * sends it — an interactive shell ignores SIGTERM, so `stop` has nothing to wait for.
 */
export function ignoresSignal(pid: number, signal: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  return signalsInMask(status, 'SigIgn').includes(signal);
}

/** Adds steps that give every changed signal back its default action (a zeroed sigaction is SIG_DFL). */
export function appendSignalReset(program: ChildProgram): void {
  const defaultAction = program.arena.zeroed(64);
  for (const signal of changedSignals()) program.syscall('rt_sigaction', signal, defaultAction, null, KERNEL_SIGSET_BYTES);
}

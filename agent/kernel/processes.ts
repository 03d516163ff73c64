/*
 * Processes: waiting for them, signalling them, and holding them by pidfd.
 *
 * A pidfd (pidfd_open(2)) is a file descriptor that refers to one process for its whole life, so
 * a signal sent through it can never hit a recycled PID. The agent creates processes with glibc's
 * clone(3) in ./clone-chain; this file has the calls that follow a process afterwards.
 */
import { check, declare, errorFor, lastErrno } from './libc';
import { SYS, WNOHANG } from './constants';

const waitpid_ = declare('int waitpid(int pid, _Out_ int *status, int options)');
const kill_ = declare('int kill(int pid, int sig)');
const prctl_ = declare('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)');
const syscall_ = declare('long syscall(long number, ...)');
const getpid_ = declare('int getpid()');

export interface ExitStatus {
  /** Exit code, or 128 + signal number when killed by a signal (the shell's convention). */
  code: number;
  signal: number | null;
}

export function decodeWaitStatus(status: number): ExitStatus {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: 128 + signal, signal };
}

/** Reaps `pid` if it has exited; null while it still runs. Throws ECHILD if it is not our child. */
export function reap(pid: number, block = false): ExitStatus | null {
  const status = [0];
  const result = waitpid_(pid, status, block ? 0 : WNOHANG) as number;
  if (result < 0) throw errorFor('waitpid', `pid ${pid}`);
  if (result === 0) return null;
  return decodeWaitStatus(status[0]!);
}

/** Sends a signal; returns false if the process no longer exists. */
export function signalProcess(pid: number, signal: number): boolean {
  if ((kill_(pid, signal) as number) === 0) return true;
  if (lastErrno() === 3 /* ESRCH */) return false;
  throw errorFor('kill', `pid ${pid}, signal ${signal}`);
}

export function pidfdOpen(pid: number): number {
  return Number(check('pidfd_open', `pid ${pid}`, syscall_(SYS.pidfd_open, 'int', pid, 'unsigned int', 0) as number));
}

export function prctl(option: number, arg2: number): void {
  check('prctl', `option ${option}`, prctl_(option, arg2, 0, 0, 0) as number);
}

export function getpid(): number {
  return getpid_() as number;
}

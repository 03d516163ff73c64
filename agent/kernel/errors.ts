/*
 * Errors from the kernel.
 *
 * Every system call reports failure the same way: it returns -1 and leaves a number in the
 * thread-local `errno` (EPERM, ENOENT, EINVAL, …). A bare number teaches nothing, so each failed
 * call becomes a KernelError that names the call, what it was called on, and the errno both as
 * its symbolic name and as the C library's own sentence.
 */
import { constants } from 'node:os';

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value, name]),
);

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

export class KernelError extends Error {
  readonly call: string;
  readonly target: string;
  readonly errno: number;
  readonly code: string;

  constructor(call: string, target: string, errno: number, description: string) {
    const code = errnoName(errno);
    super(`${call}(${target}): ${code} (${description})`);
    this.name = 'KernelError';
    this.call = call;
    this.target = target;
    this.errno = errno;
    this.code = code;
  }
}

/** True when `error` is a KernelError (or a Node fs error) carrying the given errno name. */
export function hasErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

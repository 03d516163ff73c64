/*
 * The system-call layer: every raw call into the C library goes through this file.
 *
 * Node has no API for mount(2), setns(2) or clone(2), so the agent calls glibc directly through
 * koffi, a foreign-function interface that turns a C prototype string into a JavaScript function.
 * The rest of the agent never sees a raw return code: `check` turns "-1 and errno" into a
 * KernelError naming the call and its target, so a learner reads "mount(overlay → /x): EINVAL".
 */
import koffi from 'koffi';

/** A C function made callable from JavaScript; its arguments are checked by koffi at call time. */
export type NativeFunction = ReturnType<ReturnType<typeof koffi.load>['func']>;
import { KernelError } from './errors';

const libc = koffi.load('libc.so.6');

/** Declares a libc function from its C prototype. */
export function declare(prototype: string): NativeFunction {
  return libc.func(prototype);
}

const strerror = declare('const char *strerror(int errnum)');

/** The errno the last failed call on this thread left behind. */
export function lastErrno(): number {
  return koffi.errno();
}

export function errorFor(call: string, target: string, errno = lastErrno()): KernelError {
  return new KernelError(call, target, errno, String(strerror(errno)));
}

/** Runs a call returning an int/long and throws a KernelError when it returns -1. */
export function check<T extends number | bigint>(call: string, target: string, result: T): T {
  if (Number(result) < 0) throw errorFor(call, target);
  return result;
}

export { koffi };

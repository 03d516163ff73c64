/*
 * cgroupfs: the files through which the kernel's control groups are driven.
 *
 * A control group has no system call of its own. The kernel exposes each group as a directory
 * in a special filesystem (cgroup for v1, cgroup2 for v2): mkdir creates a group, rmdir removes
 * it, and every limit, counter and membership list is a small text file inside the directory
 * ("memory.max", "cgroup.procs", …). Writing "67108864" into memory.max *is* the system call.
 * So node:fs is the right tool here; this file only adds what the kernel's conventions need:
 * errors that name the file, one value per write (the kernel parses each write(2) on its own),
 * and short waits for state the kernel settles asynchronously (freezing, exiting tasks).
 */
import * as fs from 'node:fs';
import { KernelError, hasErrno } from '../../kernel/errors';
import { constants } from 'node:os';

/** Turns a Node fs error into a KernelError naming the call and the cgroup file. */
function kernelError(call: string, target: string, error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return error as Error;
  const errno = (constants.errno as Record<string, number>)[code] ?? 0;
  const description = (error as Error).message.split(': ')[1]?.split(',')[0] ?? code;
  return new KernelError(call, target, errno, description);
}

export function readCgroupFile(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (error) {
    throw kernelError('read', path, error);
  }
}

/** Reads a file that may legitimately be absent (a controller not enabled, an older kernel). */
export function readOptional(path: string): string | null {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return null;
    throw kernelError('read', path, error);
  }
}

/** One write(2) of `value`: the kernel applies (or rejects) each write as a whole. */
export function writeCgroupFile(path: string, value: string): void {
  try {
    fs.writeFileSync(path, value);
  } catch (error) {
    throw kernelError('write', `${path} ← "${value}"`, error);
  }
}

export function fileExists(path: string): boolean {
  return fs.existsSync(path);
}

/** Parses "key value" lines (memory.events, cpu.stat, cgroup.events, memory.oom_control). */
export function parseKeyedLines(text: string | null): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) values.set(key, Number(value));
  }
  return values;
}

/** Reads a single number, or null when the file is absent. */
export function readNumber(path: string): number | null {
  const text = readOptional(path);
  if (text === null) return null;
  return Number(text.trim());
}

/** The PIDs listed in a cgroup.procs file (an absent file means no processes). */
export function readPids(procsFile: string): number[] {
  const text = readOptional(procsFile) ?? '';
  return text.split('\n').filter(Boolean).map(Number);
}

/** Creates one directory (a cgroup); returns false when it already existed. */
export function makeDirectory(path: string): boolean {
  try {
    fs.mkdirSync(path);
    return true;
  } catch (error) {
    if (hasErrno(error, 'EEXIST')) return false;
    throw kernelError('mkdir', path, error);
  }
}

/**
 * Removes a cgroup directory. rmdir on cgroupfs ignores the control files inside; it fails with
 * EBUSY while tasks (or child groups) remain. Tasks that were just SIGKILLed can take a few
 * milliseconds to leave, so EBUSY is retried until `timeoutMs`. A missing directory is success.
 */
export function removeDirectory(path: string, timeoutMs = 2000): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.rmdirSync(path);
      return;
    } catch (error) {
      if (hasErrno(error, 'ENOENT')) return;
      if (!hasErrno(error, 'EBUSY') || Date.now() >= deadline) throw kernelError('rmdir', path, error);
      sleepMs(5);
    }
  }
}

/**
 * Removes a directory only if it is empty of child cgroups and tasks; never throws for that.
 * Returns whether it is gone now (false: something still uses it).
 */
export function removeIfUnused(path: string): boolean {
  try {
    fs.rmdirSync(path);
    return true;
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return true;
    if (hasErrno(error, 'EBUSY') || hasErrno(error, 'ENOTEMPTY')) return false;
    throw kernelError('rmdir', path, error);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread briefly; used only for the short waits on kernel state (≤ a few seconds). */
export function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Polls `done` until it returns true or `timeoutMs` passes; returns whether it became true. */
export function waitUntil(done: () => boolean, timeoutMs = 2000, stepMs = 2): boolean {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    sleepMs(stepMs);
  }
}

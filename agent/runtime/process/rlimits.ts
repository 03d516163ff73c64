/*
 * Resource limits (rlimits): per-process ceilings the kernel enforces on one process and passes
 * to its children — how many files it may hold open, how big a file it may write, how much CPU
 * time it may use. Each has a soft limit (what is enforced now; the process may raise it up to
 * the hard limit itself) and a hard limit (which only CAP_SYS_RESOURCE may raise). `ulimit -n`
 * in a shell is RLIMIT_NOFILE's soft limit. Unlike a cgroup, which limits a group of processes
 * together, an rlimit is counted per process (RLIMIT_NPROC: per user).
 *
 * The resource numbers are those of asm-generic/resource.h, the same on x86-64 and aarch64.
 * /proc/<pid>/limits shows them by name ("Max open files"), "unlimited" for RLIM_INFINITY.
 */
import { readFileSync } from 'node:fs';

export interface ResourceLimit {
  /** The field that asked for it: ["process", "rlimits", index]. */
  at: (string | number)[];
  type: string;
  resource: number;
  soft: bigint;
  hard: bigint;
}

/** RLIM_INFINITY: "no limit", all ones in 64 bits. */
export const RLIM_INFINITY = 0xffffffffffffffffn;

export const RLIMITS: Readonly<Record<string, { resource: number; procName: string }>> = {
  RLIMIT_CPU: { resource: 0, procName: 'Max cpu time' },
  RLIMIT_FSIZE: { resource: 1, procName: 'Max file size' },
  RLIMIT_DATA: { resource: 2, procName: 'Max data size' },
  RLIMIT_STACK: { resource: 3, procName: 'Max stack size' },
  RLIMIT_CORE: { resource: 4, procName: 'Max core file size' },
  RLIMIT_RSS: { resource: 5, procName: 'Max resident set' },
  RLIMIT_NPROC: { resource: 6, procName: 'Max processes' },
  RLIMIT_NOFILE: { resource: 7, procName: 'Max open files' },
  RLIMIT_MEMLOCK: { resource: 8, procName: 'Max locked memory' },
  RLIMIT_AS: { resource: 9, procName: 'Max address space' },
  RLIMIT_LOCKS: { resource: 10, procName: 'Max file locks' },
  RLIMIT_SIGPENDING: { resource: 11, procName: 'Max pending signals' },
  RLIMIT_MSGQUEUE: { resource: 12, procName: 'Max msgqueue size' },
  RLIMIT_NICE: { resource: 13, procName: 'Max nice priority' },
  RLIMIT_RTPRIO: { resource: 14, procName: 'Max realtime priority' },
  RLIMIT_RTTIME: { resource: 15, procName: 'Max realtime timeout' },
};

/**
 * A config.json value → the kernel's 64-bit limit. JSON numbers are doubles: 2^64 − 1 (what
 * runtimes write for "unlimited") arrives as 2^64, so anything that large means RLIM_INFINITY.
 */
export function rlimitValue(value: number): bigint {
  if (value >= 2 ** 64) return RLIM_INFINITY;
  return BigInt(Math.max(0, Math.floor(value)));
}

/** The limits of a process as the kernel reports them in /proc/<pid>/limits, by resource number. */
export function readLimits(pid: number | 'self'): Map<number, { soft: bigint; hard: bigint }> {
  const limits = new Map<number, { soft: bigint; hard: bigint }>();
  const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const value = (word: string): bigint => (word === 'unlimited' ? RLIM_INFINITY : BigInt(word));
  for (const { resource, procName } of Object.values(RLIMITS)) {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${procName} `));
    // "Max open files            1024                 20000                files"
    const words = line?.slice(procName.length).trim().split(/\s+/);
    if (words && words.length >= 2) limits.set(resource, { soft: value(words[0]!), hard: value(words[1]!) });
  }
  return limits;
}

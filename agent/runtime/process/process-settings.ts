/*
 * What config.json's process asks of the kernel beyond its program, user and privileges: resource
 * limits (rlimits), the file-creation mask, the execution domain (personality), the CPU scheduling
 * policy, the I/O priority and the OOM killer's preference. All of them are properties of the
 * process that survive execve(2), so they are set before the program starts and it inherits them.
 *
 *   process.rlimits[]     prlimit64(0, RLIMIT_*, {soft, hard})   /proc/<pid>/limits
 *   process.user.umask    umask(mask)                            /proc/<pid>/status "Umask:"
 *   linux.personality     personality(PER_LINUX | PER_LINUX32)   /proc/<pid>/personality
 *   process.scheduler     sched_setattr(0, {policy, nice, …})    /proc/<pid>/stat policy, nice, rt_priority
 *   process.ioPriority    ioprio_set(IOPRIO_WHO_PROCESS, 0, …)   ioprio_get(2)
 *   process.oomScoreAdj   written by the agent                   /proc/<pid>/oom_score_adj
 *
 * The first five are system calls in the child's own program (../../kernel/child-program.ts),
 * made while it is still root in the host's user namespace: raising a limit, a real-time policy
 * or a negative nice need privileges the uid switch drops. The child cannot look at the results,
 * so it stops at a checkpoint right after them, and the agent reads the kernel's view before
 * letting it go on: a setting that did not take is one line naming the field, and create is
 * undone. Checking there — not after execve — also means no race with a program that changes
 * its own umask or limits the moment it runs.
 *
 * oom_score_adj is the exception, because of how the child is made. It shares the agent's memory
 * (CLONE_VM), and the kernel keeps oom_score_adj the same for every process sharing one memory
 * map — the OOM killer frees memory by killing them all together — so writing the child's value
 * would change the agent's too (and every other child still waiting). A container that asks for
 * oomScoreAdj is therefore cloned with memory of its own (fork semantics: copying the agent's
 * page tables took 2.5–6 ms for a 130 MB agent, against 0.4 ms shared), and the agent writes
 * /proc/<pid>/oom_score_adj while it waits.
 *
 * What the kernel would refuse anyway is refused before anything is made: a hard limit above the
 * agent's own, or an oom_score_adj below it, needs CAP_SYS_RESOURCE — which machines like ours
 * keep out of even root's bounding set.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ChildProgram } from '../../kernel/child-program';
import { supportedArch } from '../../kernel/constants';
import { declare } from '../../kernel/libc';
import { hasErrno } from '../../kernel/errors';
import { SYSCALL_TABLE } from '../../kernel/syscall-table.generated';
import { configFieldError } from '../../oci/validate';
import type { OciSpec } from '../../protocol';
import { RLIMITS, readLimits, rlimitValue, type ResourceLimit } from './rlimits';

export interface ProcessSettings {
  rlimits: ResourceLimit[];
  umask: number | null;
  personality: number | null;
  scheduler: Scheduler | null;
  /** ioprio_set's value: class << 13 | priority. */
  ioPriority: number | null;
  oomScoreAdj: number | null;
}

interface Scheduler {
  policy: number;
  flags: number;
  nice: number;
  priority: number;
  runtime: bigint;
  deadline: bigint;
  period: bigint;
}

/** <linux/personality.h>: the two execution domains the spec names. */
const PERSONALITIES: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };
/** <linux/sched.h>. SCHED_ISO was reserved but never implemented by Linux. */
const POLICIES: Record<string, number> = { SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_IDLE: 5, SCHED_DEADLINE: 6 };
/** <linux/sched.h>; the utilisation clamps need values the spec has no field for. */
const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04, SCHED_FLAG_KEEP_POLICY: 0x08, SCHED_FLAG_KEEP_PARAMS: 0x10,
};
/** <linux/ioprio.h>. */
const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
const IOPRIO_CLASS_SHIFT = 13;
const IOPRIO_WHO_PROCESS = 1;
/** struct sched_attr up to sched_period (SCHED_ATTR_SIZE_VER0). */
const SCHED_ATTR_BYTES = 48;

/** What the kernel allows this agent, read from /proc/self: the bounds refusals are made against. */
export interface ProcessFacts {
  ownLimits(): Map<number, { soft: bigint; hard: bigint }>;
  /** CAP_SYS_RESOURCE in the agent's effective set: raise hard limits, lower oom_score_adj. */
  canRaiseLimits(): boolean;
  /** fs.nr_open: no RLIMIT_NOFILE may exceed it, whatever the privileges. */
  nrOpen(): bigint;
  ownOomScoreAdj(): number;
}

const CAP_SYS_RESOURCE = 24n;

export const hostProcessFacts: ProcessFacts = {
  ownLimits: () => readLimits('self'),
  canRaiseLimits: () => {
    const effective = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
    return ((BigInt(`0x${effective}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
  },
  nrOpen: () => BigInt(readFileSync('/proc/sys/fs/nr_open', 'utf8').trim()),
  ownOomScoreAdj: () => Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim()),
};

/**
 * The settings `spec` asks for, refusing in one line what the kernel would not do for this agent
 * (`facts`: its own limits and privileges). Null when it asks for none.
 */
export function processSettingsFor(spec: OciSpec, facts: ProcessFacts | null = null): ProcessSettings | null {
  const processSpec = spec.process;
  if (!processSpec) return null;
  const settings: ProcessSettings = {
    rlimits: rlimitsOf(processSpec.rlimits ?? [], facts),
    umask: processSpec.user?.umask ?? null,
    personality: null,
    scheduler: processSpec.scheduler ? schedulerOf(processSpec.scheduler) : null,
    ioPriority: null,
    oomScoreAdj: processSpec.oomScoreAdj ?? null,
  };
  if (settings.umask !== null && (settings.umask < 0 || settings.umask > 0o777)) throw configFieldError(['process', 'user', 'umask'], 'must be 0…511 (0o777)');
  const personality = spec.linux?.personality;
  if (personality) {
    settings.personality = PERSONALITIES[personality.domain] ?? null;
    if (settings.personality === null) throw configFieldError(['linux', 'personality', 'domain'], 'must be LINUX or LINUX32');
    if ((personality.flags ?? []).length > 0) throw configFieldError(['linux', 'personality', 'flags'], 'is not supported by this runtime');
  }
  const io = processSpec.ioPriority;
  if (io) {
    const ioClass = IOPRIO_CLASSES[io.class];
    const priority = io.priority ?? 0;
    if (ioClass === undefined) throw configFieldError(['process', 'ioPriority', 'class'], 'must be IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE');
    if (priority < 0 || priority > 7) throw configFieldError(['process', 'ioPriority', 'priority'], 'must be 0 (highest) … 7');
    settings.ioPriority = (ioClass << IOPRIO_CLASS_SHIFT) | priority;
  }
  const oom = settings.oomScoreAdj;
  if (oom !== null) {
    if (oom < -1000 || oom > 1000) throw configFieldError(['process', 'oomScoreAdj'], 'must be -1000…1000');
    const own = facts?.ownOomScoreAdj();
    if (facts && own !== undefined && oom < own && !facts.canRaiseLimits()) {
      throw configFieldError(['process', 'oomScoreAdj'], `${oom} is below this runtime's own oom_score_adj (${own}): lowering it needs CAP_SYS_RESOURCE, which this host does not grant`);
    }
  }
  const asksNothing = settings.rlimits.length === 0 && settings.umask === null && settings.personality === null
    && settings.scheduler === null && settings.ioPriority === null && oom === null;
  return asksNothing ? null : settings;
}

function rlimitsOf(entries: NonNullable<NonNullable<OciSpec['process']>['rlimits']>, facts: ProcessFacts | null): ResourceLimit[] {
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const at = ['process', 'rlimits', index];
    const known = RLIMITS[entry.type];
    if (!known) throw configFieldError(at, `${entry.type} is not a Linux resource limit`);
    if (seen.has(entry.type)) throw configFieldError(at, `${entry.type} is listed twice`);
    seen.add(entry.type);
    const limit: ResourceLimit = { at, type: entry.type, resource: known.resource, soft: rlimitValue(entry.soft), hard: rlimitValue(entry.hard) };
    if (limit.soft > limit.hard) throw configFieldError(at, `${entry.type}: soft limit ${entry.soft} is above the hard limit ${entry.hard}`);
    if (facts) {
      const own = facts.ownLimits().get(known.resource);
      if (own && limit.hard > own.hard && !facts.canRaiseLimits()) {
        throw configFieldError(at, `${entry.type}: hard limit ${entry.hard} is above this runtime's own (${own.hard}): raising it needs CAP_SYS_RESOURCE, which this host does not grant`);
      }
      if (entry.type === 'RLIMIT_NOFILE' && limit.hard > facts.nrOpen()) throw configFieldError(at, `RLIMIT_NOFILE: ${entry.hard} is above fs.nr_open (${facts.nrOpen()}), the kernel's ceiling`);
    }
    return limit;
  });
}

function schedulerOf(scheduler: NonNullable<NonNullable<OciSpec['process']>['scheduler']>): Scheduler {
  const at = (field: string): string[] => ['process', 'scheduler', field];
  const policy = POLICIES[scheduler.policy];
  if (policy === undefined) throw configFieldError(at('policy'), `${scheduler.policy} is not supported by this runtime (Linux has SCHED_OTHER, _FIFO, _RR, _BATCH, _IDLE, _DEADLINE)`);
  let flags = 0;
  for (const flag of scheduler.flags ?? []) {
    const bit = SCHED_FLAGS[flag];
    if (bit === undefined) throw configFieldError(at('flags'), `${flag} is not supported by this runtime`);
    flags |= bit;
  }
  const realtime = policy === POLICIES.SCHED_FIFO || policy === POLICIES.SCHED_RR;
  const priority = scheduler.priority ?? 0;
  if (realtime && (priority < 1 || priority > 99)) throw configFieldError(at('priority'), `must be 1…99 for ${scheduler.policy}`);
  if (!realtime && priority !== 0) throw configFieldError(at('priority'), `must be 0 for ${scheduler.policy} (only real-time policies have one)`);
  const nice = scheduler.nice ?? 0;
  if (nice < -20 || nice > 19) throw configFieldError(at('nice'), 'must be -20…19');
  const word = (value: number | undefined): bigint => BigInt(Math.max(0, Math.floor(value ?? 0)));
  return { policy, flags, nice, priority, runtime: word(scheduler.runtime), deadline: word(scheduler.deadline), period: word(scheduler.period) };
}

/** Whether the child must be cloned with memory of its own (see the header: oom_score_adj). */
export function needsOwnMemory(settings: ProcessSettings | null): boolean {
  return settings?.oomScoreAdj !== null && settings?.oomScoreAdj !== undefined;
}

/** The settings as system calls of the child's program (all but oom_score_adj, which the agent writes). */
export function appendProcessSettings(program: ChildProgram, settings: ProcessSettings | null): void {
  if (!settings) return;
  const numbers = SYSCALL_TABLE[program.arch];
  const call = (name: string, ...args: (number | bigint | null)[]): void => {
    program.call('syscall', numbers[name]!, ...args);
  };
  const arena = program.arena;
  if (settings.personality !== null) call('personality', settings.personality);
  if (settings.ioPriority !== null) call('ioprio_set', IOPRIO_WHO_PROCESS, 0, settings.ioPriority);
  const scheduler = settings.scheduler;
  if (scheduler) {
    const attr = arena.zeroed(SCHED_ATTR_BYTES, 8);
    const at = arena.offsetOf(attr);
    arena.bytes.writeUInt32LE(SCHED_ATTR_BYTES, at);
    arena.bytes.writeUInt32LE(scheduler.policy, at + 4);
    arena.bytes.writeBigUInt64LE(BigInt(scheduler.flags), at + 8);
    arena.bytes.writeInt32LE(scheduler.nice, at + 16);
    arena.bytes.writeUInt32LE(scheduler.priority, at + 20);
    arena.bytes.writeBigUInt64LE(scheduler.runtime, at + 24);
    arena.bytes.writeBigUInt64LE(scheduler.deadline, at + 32);
    arena.bytes.writeBigUInt64LE(scheduler.period, at + 40);
    call('sched_setattr', 0, attr, 0);
  }
  for (const limit of settings.rlimits) {
    // struct rlimit64 { __u64 rlim_cur; __u64 rlim_max; }
    const pair = arena.zeroed(16, 8);
    arena.bytes.writeBigUInt64LE(limit.soft, arena.offsetOf(pair));
    arena.bytes.writeBigUInt64LE(limit.hard, arena.offsetOf(pair) + 8);
    call('prlimit64', 0, limit.resource, pair, null);
  }
  if (settings.umask !== null) call('umask', settings.umask);
}

const syscall = declare('long syscall(long number, ...)');

/**
 * While the child waits after its settings: writes its oom_score_adj and checks every setting in
 * the kernel's own view. A setting that did not take is one line naming the field.
 */
export function settleProcessSettings(pid: number, settings: ProcessSettings | null): void {
  if (!settings) return;
  if (settings.oomScoreAdj !== null) {
    try {
      writeFileSync(`/proc/${pid}/oom_score_adj`, String(settings.oomScoreAdj));
    } catch (error) {
      if (!hasErrno(error, 'EACCES')) throw error;
      throw configFieldError(['process', 'oomScoreAdj'], `${settings.oomScoreAdj} was refused by the kernel (EACCES): lowering oom_score_adj needs CAP_SYS_RESOURCE`);
    }
  }
  const differs = (at: (string | number)[], what: string): never => {
    throw configFieldError(at, `did not take effect: the kernel reports ${what}`);
  };
  const oom = settings.oomScoreAdj;
  if (oom !== null) {
    const now = Number(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim());
    if (now !== oom) differs(['process', 'oomScoreAdj'], `oom_score_adj ${now}`);
  }
  if (settings.rlimits.length > 0) {
    const limits = readLimits(pid);
    for (const limit of settings.rlimits) {
      const now = limits.get(limit.resource);
      if (!now || now.soft !== limit.soft || now.hard !== limit.hard) differs(limit.at, `${limit.type} soft ${now?.soft ?? '?'} hard ${now?.hard ?? '?'}`);
    }
  }
  const status = settings.umask !== null ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
  const umask = /^Umask:\s*([0-7]+)/m.exec(status)?.[1];
  if (settings.umask !== null && (umask === undefined || parseInt(umask, 8) !== settings.umask)) differs(['process', 'user', 'umask'], `umask ${umask ?? '?'}`);
  if (settings.personality !== null) {
    const now = parseInt(readFileSync(`/proc/${pid}/personality`, 'utf8').trim(), 16);
    if ((now & 0xff) !== settings.personality) differs(['linux', 'personality'], `personality 0x${now.toString(16)}`);
  }
  if (settings.scheduler) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": the 3rd is field 3 of proc(5); nice is 19, rt_priority 40, policy 41.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const field = (n: number): number => Number(fields[n - 3]);
    const { policy, nice, priority } = settings.scheduler;
    const niceMatters = policy === POLICIES.SCHED_OTHER || policy === POLICIES.SCHED_BATCH;
    if (field(41) !== policy || field(40) !== priority || (niceMatters && field(19) !== nice)) {
      differs(['process', 'scheduler'], `policy ${field(41)}, rt_priority ${field(40)}, nice ${field(19)} (real-time policies need CAP_SYS_NICE in the host's user namespace and, with RT group scheduling, real-time time in the cgroup)`);
    }
  }
  if (settings.ioPriority !== null) {
    const now = Number(syscall(SYSCALL_TABLE[supportedArch()]['ioprio_get']!, 'int', IOPRIO_WHO_PROCESS, 'int', pid));
    if (now !== settings.ioPriority) differs(['process', 'ioPriority'], `ioprio 0x${now.toString(16)}`);
  }
}

/*
 * Seccomp: a filter on every system call.
 *
 * Before the kernel runs a system call for a process with a seccomp filter, it runs the filter —
 * a tiny program in classic BPF, the packet-filter machine language — over a struct seccomp_data
 * { int nr; u32 arch; u64 instruction_pointer; u64 args[6] }. The program's return value decides:
 * ALLOW runs the call, ERRNO(n) makes it fail with errno n without running it, KILL ends the
 * process, LOG allows and logs. Filters are inherited by children and can never be removed, so a
 * container's first process installs one just before execve and everything it starts obeys it.
 *
 * Container runtimes take the profile as JSON (OCI linux.seccomp: a default action, plus rules
 * naming system calls), and compile it into BPF. This module is that compiler, for the machine's
 * own architecture:
 *
 *     ld  arch;  jeq AUDIT_ARCH_<this machine> ? next : kill      (another ABI's numbers differ)
 *     for each rule:  ld nr;  jeq <number> ? [argument tests] ret <action> : next rule
 *     ret <default action>
 *
 * Profiles name the calls of many machines at once (Docker's lists i386's chown32 and ARM's
 * cacheflush beside x86-64's): a name this machine lacks has no number, and its rule is left out.
 * A name no machine has is refused in the agent's own --seccomp (a typo should not silently weaken a
 * filter); runc's command line leaves it out too, as libseccomp does for runc (seccompForArch).
 *
 * Installing needs either CAP_SYS_ADMIN or no_new_privs (so an unprivileged program cannot use a
 * filter to confuse a setuid one); process/launch.ts orders the steps as runc does.
 *
 * Three calls are always allowed, whatever the profile says: exit and exit_group, so that a child
 * whose execve a profile refused can still end, and rt_sigprocmask, which the runtime's own steps
 * make between one another until execve (kernel/child-program.ts). The child shares the agent's
 * memory until it has exec'd: a child that could neither exec nor end would run on into code that
 * is the agent's, not its own. None of the three grants anything — Docker's profile allows them all.
 */
import type { OciSeccomp, OciSeccompAction, OciSeccompArg } from '../protocol';
import type { ChildProgram } from '../kernel/child-program';
import { SECCOMP_SET_MODE_FILTER, supportedArch, type SupportedArch } from '../kernel/constants';
import { OTHER_ARCH_SYSCALL_NAMES, SYSCALL_TABLE } from '../kernel/syscall-table.generated';
import { badInput } from '../errors';

// Classic BPF opcodes (linux/bpf_common.h, filter.h).
const BPF_LD_W_ABS = 0x20; // A = 32-bit word at offset k
const BPF_JEQ_K = 0x15; //    pc += (A == k) ? jt : jf
const BPF_JSET_K = 0x45; //   pc += (A & k) ? jt : jf
const BPF_AND_K = 0x54; //    A &= k
const BPF_RET_K = 0x06; //    return k

// seccomp return values (linux/seccomp.h).
const RET_KILL_PROCESS = 0x80000000;
const RET_KILL_THREAD = 0x00000000;
const RET_TRAP = 0x00030000;
const RET_ERRNO = 0x00050000;
const RET_TRACE = 0x7ff00000;
const RET_LOG = 0x7ffc0000;
const RET_ALLOW = 0x7fff0000;
const EPERM = 1;

const AUDIT_ARCH: Record<SupportedArch, number> = { x64: 0xc000003e, arm64: 0xc00000b7 };
/** x86-64 also accepts x32-ABI calls (nr | 0x40000000): never let them slip past the rules. */
const X32_SYSCALL_BIT = 0x40000000;

const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const argOffset = (index: number, half: 'low' | 'high') => 16 + 8 * index + (half === 'high' ? 4 : 0);

/** What the runtime itself must be able to do after the filter is in (see above). */
export const ALWAYS_ALLOWED = ['exit', 'exit_group', 'rt_sigprocmask'] as const;

export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const stmt = (code: number, k: number): BpfInstruction => ({ code, jt: 0, jf: 0, k: k >>> 0 });
const jump = (code: number, k: number, jt: number, jf: number): BpfInstruction => ({ code, jt, jf, k: k >>> 0 });

function actionValue(action: OciSeccompAction, errnoRet: number | undefined): number {
  switch (action) {
    case 'SCMP_ACT_ALLOW': return RET_ALLOW;
    case 'SCMP_ACT_ERRNO': return (RET_ERRNO | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD': return RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS': return RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP': return RET_TRAP;
    case 'SCMP_ACT_TRACE': return (RET_TRACE | ((errnoRet ?? 0) & 0xffff)) >>> 0;
    case 'SCMP_ACT_LOG': return RET_LOG;
    default: throw badInput(`seccomp action ${JSON.stringify(action)} is not supported: use SCMP_ACT_ALLOW, _ERRNO, _KILL, _KILL_PROCESS, _TRAP or _LOG`);
  }
}

/**
 * Tests one argument condition; on failure jumps `failJump` instructions past the test's end.
 * 64-bit values are compared as two 32-bit halves (classic BPF loads 32 bits at a time).
 */
function argumentTest(arg: OciSeccompArg, failJump: number): BpfInstruction[] {
  const low = (value: number) => Number(BigInt.asUintN(64, BigInt(value)) & 0xffffffffn);
  const high = (value: number) => Number(BigInt.asUintN(64, BigInt(value)) >> 32n);
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) throw badInput(`seccomp argument index ${arg.index} must be 0-5`);
  switch (arg.op) {
    case 'SCMP_CMP_EQ':
      // 4 instructions: high ≠ → fail; low ≠ → fail
      return [
        stmt(BPF_LD_W_ABS, argOffset(arg.index, 'high')), jump(BPF_JEQ_K, high(arg.value), 0, 2 + failJump),
        stmt(BPF_LD_W_ABS, argOffset(arg.index, 'low')), jump(BPF_JEQ_K, low(arg.value), 0, failJump),
      ];
    case 'SCMP_CMP_NE':
      // match when either half differs: high ≠ → match (skip the low test); low = → fail
      return [
        stmt(BPF_LD_W_ABS, argOffset(arg.index, 'high')), jump(BPF_JEQ_K, high(arg.value), 0, 2),
        stmt(BPF_LD_W_ABS, argOffset(arg.index, 'low')), jump(BPF_JEQ_K, low(arg.value), failJump, 0),
      ];
    case 'SCMP_CMP_MASKED_EQ': {
      const expected = arg.valueTwo ?? 0;
      return [
        stmt(BPF_LD_W_ABS, argOffset(arg.index, 'high')), stmt(BPF_AND_K, high(arg.value)), jump(BPF_JEQ_K, high(expected), 0, 3 + failJump),
        stmt(BPF_LD_W_ABS, argOffset(arg.index, 'low')), stmt(BPF_AND_K, low(arg.value)), jump(BPF_JEQ_K, low(expected), 0, failJump),
      ];
    }
    default:
      throw badInput(`seccomp comparison ${JSON.stringify(arg.op)} is not supported: use SCMP_CMP_EQ, SCMP_CMP_NE or SCMP_CMP_MASKED_EQ`);
  }
}

/**
 * Where a profile's name is a system call: on this architecture, only on another one (Docker's
 * profile names i386's chown32 and ARM's cacheflush), or nowhere — a typo, or a call newer than
 * this project's table (../kernel/generate-syscall-table.ts). Looked up as own keys only.
 */
export function syscallNameKind(name: unknown, arch: SupportedArch = supportedArch()): 'here' | 'elsewhere' | 'unknown' {
  if (typeof name !== 'string') return 'unknown';
  if (Object.hasOwn(SYSCALL_TABLE[arch], name)) return 'here';
  if (Object.values(SYSCALL_TABLE).some((table) => Object.hasOwn(table, name)) || OTHER_ARCH_NAMES.has(name)) return 'elsewhere';
  return 'unknown';
}
const OTHER_ARCH_NAMES: ReadonlySet<string> = new Set(OTHER_ARCH_SYSCALL_NAMES);

/** A name for a message: quoted, cut at 40 characters; the type of anything not a string. */
const shownName = (name: unknown): string => (typeof name === 'string' ? JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name) : typeof name);

/** The number of a system call on `arch`; undefined for a real name another architecture has; a name no architecture has is refused. */
function syscallNumber(name: unknown, arch: SupportedArch, skipped: ((message: string) => void) | undefined): number | undefined {
  const kind = syscallNameKind(name, arch);
  if (kind === 'here') return SYSCALL_TABLE[arch][name as string];
  if (kind === 'elsewhere') {
    skipped?.(`seccomp: ${shownName(name)} is not a system call on ${arch}; its rule is left out for it`);
    return undefined;
  }
  throw badInput(`seccomp: unknown system call name ${shownName(name)} (no architecture has it)`);
}

/**
 * The profile as runc hands it to libseccomp, which resolves each name for the filter's
 * architecture and leaves out, with a debug line, every name it cannot resolve — another
 * architecture's or one it never heard of. The OCI runtime path (../../runc) takes profiles so;
 * the agent's own --seccomp refuses a name no architecture has (compileSeccomp). A rule left
 * with no name goes. `skipped` hears one line per name left out.
 */
export function seccompForArch(profile: OciSeccomp, skipped: (message: string) => void, arch: SupportedArch = supportedArch()): OciSeccomp {
  if (!profile || typeof profile !== 'object' || !Array.isArray(profile.syscalls)) return profile;
  const syscalls: NonNullable<OciSeccomp['syscalls']> = [];
  for (const rule of profile.syscalls) {
    if (typeof rule !== 'object' || rule === null || !Array.isArray(rule.names)) {
      syscalls.push(rule); // compileSeccomp says what is wrong with it
      continue;
    }
    const names = rule.names.filter((name) => {
      const kind = syscallNameKind(name, arch);
      if (kind !== 'here') skipped(`seccomp: ${shownName(name)} is ${kind === 'elsewhere' ? `not a system call on ${arch}` : 'no system call this runtime knows'}; ignored, as libseccomp does`);
      return kind === 'here';
    });
    if (names.length > 0) syscalls.push({ ...rule, names });
  }
  return { ...profile, syscalls };
}

/** What compileSeccomp may be told besides the profile. */
export interface SeccompCompileOptions {
  /** Hears one line per name left out because it is another architecture's. */
  skipped?: (message: string) => void;
}

/** Compiles a profile to BPF for `arch`. Names this architecture lacks are skipped (profiles list several ABIs' names). */
export function compileSeccomp(profile: OciSeccomp, arch: SupportedArch = supportedArch(), options: SeccompCompileOptions = {}): BpfInstruction[] {
  if (!profile || typeof profile !== 'object' || typeof profile.defaultAction !== 'string') throw badInput('seccomp profile needs a "defaultAction"');
  if (profile.syscalls !== undefined && !Array.isArray(profile.syscalls)) throw badInput('seccomp "syscalls" must be a list of rules');
  const program: BpfInstruction[] = [
    stmt(BPF_LD_W_ABS, OFFSET_ARCH),
    jump(BPF_JEQ_K, AUDIT_ARCH[arch], 1, 0),
    stmt(BPF_RET_K, RET_KILL_PROCESS),
    stmt(BPF_LD_W_ABS, OFFSET_NR),
  ];
  if (arch === 'x64') program.push(jump(BPF_JSET_K, X32_SYSCALL_BIT, 0, 1), stmt(BPF_RET_K, RET_KILL_PROCESS));
  for (const name of ALWAYS_ALLOWED) program.push(jump(BPF_JEQ_K, SYSCALL_TABLE[arch][name]!, 0, 1), stmt(BPF_RET_K, RET_ALLOW));

  let known = 0;
  for (const rule of profile.syscalls ?? []) {
    if (typeof rule !== 'object' || rule === null || !Array.isArray(rule.names)) throw badInput('each seccomp rule needs "names": a list of system call names');
    if (rule.args !== undefined && !Array.isArray(rule.args)) throw badInput('seccomp rule "args" must be a list');
    const value = actionValue(rule.action, rule.errnoRet);
    for (const name of rule.names) {
      const nr = syscallNumber(name, arch, options.skipped);
      if (nr === undefined) continue;
      known += 1;
      // Tests of every argument condition, each jumping to the rule's end (the reload of nr) on failure.
      const args = rule.args ?? [];
      const tests: BpfInstruction[][] = [];
      for (let index = args.length - 1; index >= 0; index -= 1) {
        const after = tests.reduce((sum, block) => sum + block.length, 0) + 1; // + the ret
        tests.unshift(argumentTest(args[index]!, after));
      }
      const body = [...tests.flat(), stmt(BPF_RET_K, value)];
      if (args.length) body.push(stmt(BPF_LD_W_ABS, OFFSET_NR)); // argument loads replaced A
      if (body.length > 255) throw badInput(`seccomp rule for ${name} is too long`);
      program.push(jump(BPF_JEQ_K, nr, 0, body.length), ...body);
    }
  }
  if ((profile.syscalls ?? []).length > 0 && known === 0) throw badInput('no system call named in the seccomp profile exists on this architecture');
  program.push(stmt(BPF_RET_K, actionValue(profile.defaultAction, profile.defaultErrnoRet)));
  if (program.length > 4096) throw badInput(`seccomp profile compiles to ${program.length} instructions; the kernel accepts at most 4096`);
  return program;
}

/*
 * Compiling a profile of a few hundred rules takes about a millisecond — as long as a third of a
 * container start. The default profile is one object per capability set (../oci/default-seccomp.ts)
 * and a container's document is read back from disk for exec and start, so filters are kept both
 * by object and by the profile's JSON text. A compiled filter is shared: nothing may change it.
 */
const COMPILED_KEPT = 32;
const compiledByObject = new WeakMap<OciSeccomp, BpfInstruction[]>();
const compiledByText = new Map<string, BpfInstruction[]>();

/** compileSeccomp for this machine, once per profile (so `options.skipped` hears a profile's names once). */
export function compiledSeccomp(profile: OciSeccomp, options: SeccompCompileOptions = {}): BpfInstruction[] {
  const known = compiledByObject.get(profile);
  if (known) return known;
  const text = JSON.stringify(profile);
  let filter = compiledByText.get(text);
  if (!filter) {
    filter = compileSeccomp(profile, supportedArch(), options);
    // Oldest out first: a Map iterates in insertion order.
    if (compiledByText.size >= COMPILED_KEPT) compiledByText.delete(compiledByText.keys().next().value!);
    compiledByText.set(text, filter);
  }
  if (typeof profile === 'object' && profile !== null) compiledByObject.set(profile, filter);
  return filter;
}

/**
 * What the filter answers for one call — the kernel's own evaluation, done here in advance: the
 * same classic BPF machine over the same seccomp_data. Only the instructions compileSeccomp emits.
 */
export function seccompVerdict(filter: readonly BpfInstruction[], nr: number, args: readonly bigint[] = [], arch: SupportedArch = supportedArch()): number {
  const word = (offset: number): number => {
    if (offset === OFFSET_NR) return nr >>> 0;
    if (offset === OFFSET_ARCH) return AUDIT_ARCH[arch];
    const index = Math.floor((offset - 16) / 8);
    const value = BigInt.asUintN(64, args[index] ?? 0n);
    return Number((offset - 16) % 8 === 4 ? value >> 32n : value & 0xffffffffn);
  };
  let a = 0;
  for (let pc = 0; pc < filter.length; pc += 1) {
    const { code, jt, jf, k } = filter[pc]!;
    if (code === BPF_LD_W_ABS) a = word(k);
    else if (code === BPF_AND_K) a = (a & k) >>> 0;
    else if (code === BPF_JEQ_K) pc += a === k ? jt : jf;
    else if (code === BPF_JSET_K) pc += (a & k) !== 0 ? jt : jf;
    else if (code === BPF_RET_K) return k;
  }
  return RET_KILL_PROCESS;
}

/** Whether a verdict lets the call run (ALLOW, or LOG which allows and logs). */
export const letsThrough = (verdict: number): boolean => verdict === RET_ALLOW || verdict === RET_LOG;

/** The name of a system call number on `arch`, for messages. */
export function syscallName(nr: number, arch: SupportedArch = supportedArch()): string {
  return Object.entries(SYSCALL_TABLE[arch]).find(([, number]) => number === nr)?.[0] ?? `syscall ${nr}`;
}

/** A step that installs the compiled filter: seccomp(SECCOMP_SET_MODE_FILTER, 0, &sock_fprog). */
export function appendSeccompInstall(program: ChildProgram, filter: BpfInstruction[]): void {
  const { arena } = program;
  const code = arena.zeroed(8 * filter.length, 8);
  const codeOffset = arena.offsetOf(code);
  filter.forEach((instruction, index) => {
    const at = codeOffset + 8 * index;
    arena.bytes.writeUInt16LE(instruction.code, at);
    arena.bytes.writeUInt8(instruction.jt, at + 2);
    arena.bytes.writeUInt8(instruction.jf, at + 3);
    arena.bytes.writeUInt32LE(instruction.k, at + 4);
  });
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; } — the pointer is 8-aligned.
  const fprog = arena.zeroed(16, 8);
  const fprogOffset = arena.offsetOf(fprog);
  arena.bytes.writeUInt16LE(filter.length, fprogOffset);
  arena.bytes.writeBigUInt64LE(code, fprogOffset + 8);
  program.syscall('seccomp', SECCOMP_SET_MODE_FILTER, 0, fprog);
}

/** "Seccomp:" in /proc/<pid>/status: 0 none, 1 strict, 2 filter. */
export function seccompModeFromStatus(status: string): 'disabled' | 'strict' | 'filter' {
  const mode = /^Seccomp:\s*(\d)/m.exec(status)?.[1];
  return mode === '2' ? 'filter' : mode === '1' ? 'strict' : 'disabled';
}

/*
 * The last steps of every process the agent starts, container init or exec: give it its stdio,
 * a clean signal state and no inherited file descriptors, switch to its working directory and
 * user, then execve(2) the program. These run in the child, as calls of its ChildProgram.
 *
 * Order matters: stdio is dup3'd onto 0-2 first (the copy is not close-on-exec), then
 * every other descriptor is marked close-on-exec (close_range CLOEXEC) so nothing the agent had
 * open leaks into the container, yet the checkpoint pipe still closes exactly at execve. The
 * user is switched late because dropping root would forbid the steps before it.
 *
 * Security steps (./security-plan.ts) wrap the user switch, in runc's order: a seccomp filter
 * goes in first while the process is still privileged — unless no_new_privs is asked for, which
 * lets it go in last, right before execve; the bounding set shrinks before the uid switch (it
 * needs CAP_SETPCAP), the other capability sets are set after it.
 */
import type { ChildProgram } from '../../kernel/child-program';
import { CLOSE_RANGE_CLOEXEC, F_SETFD, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, SIGKILL, TIOCSCTTY } from '../../kernel/constants';
import { appendBoundingDrops, appendCapabilitySets } from '../capabilities';
import { badInput } from '../../errors';
import { appendSeccompInstall, letsThrough, seccompVerdict, syscallName, type BpfInstruction } from '../seccomp';
import { EXEC_FAILED, type Checkpoints } from './checkpoints';
import { ExecSlots, type ExecText } from './exec-slots';
import { HELD_FD_MINIMUM } from './mount-namespace-hold';
import type { SecurityPlan } from './security-plan';
import { appendSessionKeyring } from './session-keyring';
import { appendSignalReset } from './signals';

export interface LaunchPlan {
  /**
   * What to execute (path absolute inside the container's root), fixed now — or slots the agent
   * fills later, while the child is parked at its last checkpoint (see ./exec-slots.ts).
   */
  exec: ExecText | ExecSlots;
  uid: number;
  gid: number;
  additionalGids: number[];
  stdin: number;
  stdout: number;
  stderr: number;
  /** When set, the process gets a new session with this terminal (a pty's secondary end) as its controlling tty. */
  terminal: number | null;
  /** Capabilities, no_new_privs, seccomp; null keeps the agent's (root's) full power. */
  security?: SecurityPlan | null;
  /** The session keyring to join first (./session-keyring.ts): a name, null for a new anonymous one; absent: keep the inherited one. */
  sessionKeyring?: string | null;
  /**
   * runc's exec FIFO: a FIFO this process holds open read-write, so that read(2) on it blocks
   * until someone else writes (a FIFO whose only writer is the reader never reaches end-of-file).
   * When set, the process stops dying with its creator, reports AT_EXEC_FIFO and waits there for
   * one byte — `start`, in another process, long after the creator has exited — before it goes on
   * to execve (the user switch and the capability sets are made before the wait, as runc's init does).
   */
  execFifo?: number;
  /**
   * chroot(".") first: the process stands in the directory that was moved over "/" (runc's
   * --no-pivot, ../rootfs.ts moveRootInto) and makes it its root.
   */
  chrootToWorkingDirectory?: boolean;
  /**
   * runc's --preserve-fds N: descriptors 3 … 3+N-1, as the caller passed them (never close-on-exec,
   * at the same numbers, as systemd's LISTEN_FDS sockets are), stay open across execve.
   */
  preserveFds?: number;
}

/** The report of a process that now waits on its exec FIFO (and survives its creator). */
export const AT_EXEC_FIFO = 'F';

/**
 * The first steps of every child: drop its copies of the agent's mount-namespace holds (see
 * ./mount-namespace-hold.ts), die with the agent until exec, default signal actions.
 */
export function appendPrologue(program: ChildProgram): void {
  program.syscall('close_range', HELD_FD_MINIMUM, 0xffffffff, 0);
  program.syscall('prctl', PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  appendSignalReset(program);
}

export function appendLaunch(program: ChildProgram, checkpoints: Checkpoints, plan: LaunchPlan): void {
  // First: whatever runs later in this process (an exec FIFO wait, a startContainer hook reading /proc/<pid>/root) sees its root.
  if (plan.chrootToWorkingDirectory) program.syscall('chroot', program.arena.cString('.'));
  // Not the agent's (host root's) keyring; first, as the seccomp filter below may refuse keyctl.
  if (plan.sessionKeyring !== undefined) appendSessionKeyring(program, plan.sessionKeyring);
  if (plan.terminal !== null) {
    program.syscall('setsid');
    program.syscall('ioctl', plan.terminal, TIOCSCTTY, 0);
  }
  // A descriptor already in its place stays (dup3 refuses to copy one onto itself): a container's
  // first process on a terminal has opened it as 0 (./main-terminal.ts).
  if (plan.stdin !== 0) program.syscall('dup3', plan.stdin, 0, 0);
  if (plan.stdout !== 1) program.syscall('dup3', plan.stdout, 1, 0);
  if (plan.stderr !== 2) program.syscall('dup3', plan.stderr, 2, 0);
  program.syscall('close_range', 3 + (plan.preserveFds ?? 0), 0xffffffff, CLOSE_RANGE_CLOEXEC);
  // Node marks every descriptor it inherits close-on-exec: the preserved ones are cleared of it (F_SETFD 0).
  for (let fd = 3; fd < 3 + (plan.preserveFds ?? 0); fd += 1) program.syscall('fcntl', fd, F_SETFD, 0);
  if (plan.execFifo !== undefined) {
    // Before a seccomp filter goes in (a profile need not allow close_range): the process will wait
    // on its exec FIFO, maybe long, and its creator's caller waits for the creator's output to end
    // (containerd's shim reads `create`'s stdout and stderr to their end; with a console socket
    // those are a pipe): the creator's descriptors it still holds would keep that pipe open until
    // `start` — `ctr run --tty` hung so. runc's init holds only its stdio, the FIFO and its pipe to
    // runc; so this one.
    appendCloseAllBut(program, 3 + (plan.preserveFds ?? 0), [plan.execFifo, checkpoints.childReportEnd]);
  }
  const exec = plan.exec instanceof ExecSlots
    ? plan.exec
    : { path: program.arena.cString(plan.exec.path), cwd: program.arena.cString(plan.exec.cwd), argv: program.arena.cStringArray(plan.exec.args), envp: program.arena.cStringArray(plan.exec.env) };
  program.syscall('chdir', exec.cwd);
  const security = plan.security ?? null;
  // Where the filter goes in: every system call of the program after it must get past it.
  const filterAt = security?.seccomp ? (security.noNewPrivileges ? -1 : program.length) : null;
  if (security?.seccomp && !security.noNewPrivileges) appendSeccompInstall(program, security.seccomp);
  if (security?.capabilities) appendBoundingDrops(program, security.capabilities);
  const groups = program.arena.zeroed(4 * Math.max(1, plan.additionalGids.length), 4);
  plan.additionalGids.forEach((gid, index) => program.arena.bytes.writeUInt32LE(gid, program.arena.offsetOf(groups) + 4 * index));
  program.syscall('setgroups', plan.additionalGids.length, groups);
  program.syscall('setresgid', plan.gid, plan.gid, plan.gid);
  program.syscall('setresuid', plan.uid, plan.uid, plan.uid);
  if (security?.capabilities) appendCapabilitySets(program, security.capabilities);
  if (plan.execFifo !== undefined) {
    // Where runc's init waits too: after the user switch and the capability sets, so `create` can
    // read the sets the kernel holds for it (/proc/<pid>/status) and refuse a container whose
    // capset(2) failed — this program cannot notice that itself — before anyone starts it.
    program.syscall('prctl', PR_SET_PDEATHSIG, 0, 0, 0, 0);
    checkpoints.report(program, AT_EXEC_FIFO);
    program.syscall('read', plan.execFifo, program.arena.zeroed(16), 1);
  }
  // Until here the child dies with the agent; from exec on it lives on its own.
  program.syscall('prctl', PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (security?.noNewPrivileges) program.syscall('prctl', PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  const lateFilterAt = program.length;
  if (security?.seccomp && security.noNewPrivileges) appendSeccompInstall(program, security.seccomp);
  program.unblockSignals();
  program.syscall('execve', exec.path, exec.argv, exec.envp);
  if (security?.seccomp) refuseUnstartable(program, security.seccomp, filterAt === -1 ? lateFilterAt + 1 : filterAt! + 1, security.noNewPrivileges);
  checkpoints.report(program, EXEC_FAILED);
  program.syscall('exit_group', 127);
}

/** close_range over every descriptor from `from` on, except those in `keep`. */
function appendCloseAllBut(program: ChildProgram, from: number, keep: readonly number[]): void {
  let start = from;
  for (const fd of [...new Set(keep)].filter((kept) => kept >= from).sort((a, b) => a - b)) {
    if (fd > start) program.syscall('close_range', start, fd - 1, 0);
    start = fd + 1;
  }
  program.syscall('close_range', start, 0xffffffff, 0);
}

/**
 * A profile that refuses a call the runtime itself makes after installing it (a uid switch, the
 * capability sets, execve) would leave the process half set up — running as root where a user was
 * asked for — or unable to start at all. The child cannot branch on a failure, so the agent asks
 * the filter in advance, as the kernel will, and refuses such a profile with one line: runc fails
 * the same profiles at the same calls.
 */
function refuseUnstartable(program: ChildProgram, filter: BpfInstruction[], from: number, noNewPrivileges: boolean): void {
  const refused = [...new Set(program.syscallsFrom(from).filter(({ nr, args }) => !letsThrough(seccompVerdict(filter, nr, args))).map(({ nr }) => syscallName(nr)))];
  if (refused.length === 0) return;
  if (refused.length === 1 && refused[0] === 'execve') throw badInput('the seccomp profile refuses execve: no program could ever start in this container');
  const list = refused.length === 1 ? refused[0]! : `${refused.slice(0, -1).join(', ')} and ${refused.at(-1)!}`;
  const when = noNewPrivileges ? 'right before execve' : 'while the process is still privileged, before the uid switch and the capability sets';
  throw badInput(`the seccomp profile refuses ${list}, which the runtime calls after installing it (${when}): allow ${refused.length === 1 ? 'it' : 'them'}, as Docker's default profile does${noNewPrivileges ? '' : ', or add --no-new-privileges so the filter goes in last'}`);
}

/*
 * exec: a further process inside a running container — what `docker exec` and `nsenter` do.
 *
 * The new process must end up in every namespace of the container and in its cgroup, so it
 * counts against the container's limits. PID namespaces are special: setns(2) into one changes
 * only where the caller's future children go, never the caller itself. So the agent's thread
 * enters the container's PID namespace just around clone(), making the child a member; the
 * child then joins the user namespace first (which grants it privilege over the container's
 * other namespaces) and then mnt, net, uts, ipc and cgroup itself — it is single-threaded, so
 * even the user and mount namespaces, which a threaded process cannot enter, are open to it.
 * Before letting it execve the program, the agent compares its /proc/<pid>/ns/* with the
 * container's: the kernel's own proof it is inside.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import type { ExecOptions, NamespaceType, OciSpec } from '../../protocol';
import { ChildProgram } from '../../kernel/child-program';
import { O_RDONLY, SIGKILL } from '../../kernel/constants';
import { closeFd, duplicateFdAtOrAbove, openFile, pipe } from '../../kernel/files';
import { reap, signalProcess } from '../../kernel/processes';
import { badInput, conflict } from '../../errors';
import { sessionKeyringFromConfig } from '../../oci/from-run-options';
import { CLONE_FLAG, insideNamespaces, namespaceInodes, namespacePath } from '../namespaces';
import { Checkpoints, EXEC_FAILED } from '../process/checkpoints';
import { RunningExec, type ExecStdio } from '../process/exec-session';
import { appendLaunch, appendPrologue } from '../process/launch';
import { appendProcessSettings, needsOwnMemory, processSettingsFor, settleProcessSettings } from '../process/process-settings';
import { securityPlanFor } from '../process/security-plan';
import { existsInLayers, resolveProgram } from '../process/resolve-program';
import { openPty, resizePty } from '../process/terminal';
import type { ContainerState } from '../state/store';
import type { RuntimeContext } from './context';

const JOINED = 'J';
/** The child joins these itself, user first; pid is entered by the agent around clone. */
const JOIN_ORDER: NamespaceType[] = ['user', 'mnt', 'net', 'uts', 'ipc', 'cgroup'];

/**
 * For callers that are not the agent's service (the runc command line, ../../runc/exec.ts): the
 * process's own descriptors 0-2 instead of pipes or a terminal the agent reads, and a process
 * document (runc's `exec --process`) instead of config.json's process for user and security.
 */
export interface ExecExtras {
  stdio?: { stdin: number; stdout: number; stderr: number };
  process?: OciSpec['process'];
  /** Descriptors 3 … 3+N-1 of the caller that the program gets at the same numbers (runc's exec --preserve-fds). */
  preserveFds?: number;
}

/** `beforeStart`: also into a created container, whose first process waits for start (the init step). */
export function execInContainer(context: RuntimeContext, state: ContainerState, options: ExecOptions, beforeStart = false): RunningExec {
  const { pid, stdio } = launchExec(context, state, options, beforeStart, {});
  return new RunningExec(randomBytes(8).toString('hex'), pid, stdio!);
}

/** An exec whose stdio are the caller's (`extras.stdio`): its PID once it has exec'd. */
export function execWithCallerStdio(context: RuntimeContext, state: ContainerState, options: ExecOptions, extras: ExecExtras & { stdio: NonNullable<ExecExtras['stdio']> }): number {
  return launchExec(context, state, options, false, extras).pid;
}

function launchExec(context: RuntimeContext, state: ContainerState, options: ExecOptions, beforeStart: boolean, extras: ExecExtras): { pid: number; stdio: ExecStdio | null } {
  const ready = state.status === 'running' || (beforeStart && state.status === 'created');
  if (!ready || state.pid === null) throw conflict(`container "${state.name}" is ${state.status}, not running`);
  if (!Array.isArray(options.args) || options.args.length === 0) throw badInput('exec needs a command');
  const containerPid = state.pid;
  const stored = context.store.config(state.id);
  const spec = extras.process ? { ...stored, process: extras.process } : stored;
  const env = options.env ?? spec.process?.env ?? [];
  const root = state.namespaces.includes('mnt') ? `/proc/${containerPid}/root` : '';
  const programPath = resolveProgram(options.args[0]!, env, existsInLayers([root]));
  if (options.cwd !== undefined) checkWorkingDirectory(state, options.cwd);
  const cgroup = state.cgroup ? context.cgroups.open(state.cgroup) : null;
  // What config.json's process asks of every process in the container, as for its first (not for lab setup steps).
  const settings = options.privileged ? null : processSettingsFor(spec);

  // Every descriptor is listed the moment it exists, and one catch closes them all: a failure at
  // any step (a terminal size the kernel refuses, an argv too large for the child's arena) must
  // not leak — a leaked namespace descriptor keeps a removed container's namespaces alive.
  /** The child's copies and the namespaces it joins: closed once it is cloned, or on failure. */
  const toClose: number[] = [];
  /** The agent's ends of the child's stdio: the session's on success, closed on failure. */
  const parentEnds: number[] = [];
  const namespaceFds = new Map<NamespaceType, number>();
  let stdio: ExecStdio | null = null;
  let child: ChildProgram | null = null;
  let pid: number;
  const checkpoints = new Checkpoints();
  try {
    for (const type of JOIN_ORDER.filter((t) => state.namespaces.includes(t))) {
      const fd = openFile(namespacePath(containerPid, type), O_RDONLY);
      toClose.push(fd);
      namespaceFds.set(type, fd);
    }
    let childStdio: { stdin: number; stdout: number; stderr: number; terminal: number | null };
    if (extras.stdio) {
      // Copies: the caller's own may be close-on-exec (Node's 0-2 are); the child dup3s them onto 0-2.
      const copies = [extras.stdio.stdin, extras.stdio.stdout, extras.stdio.stderr].map((fd) => duplicateFdAtOrAbove(fd, 3));
      toClose.push(...copies);
      childStdio = { stdin: copies[0]!, stdout: copies[1]!, stderr: copies[2]!, terminal: null };
    } else if (options.tty) {
      const pty = openPty(root ? `${root}/dev/pts/ptmx` : '/dev/ptmx');
      parentEnds.push(pty.multiplexer);
      toClose.push(pty.terminal);
      resizePty(pty.multiplexer, options.cols || 80, options.rows || 24); // 0: the client's terminal does not know its size
      stdio = { kind: 'terminal', multiplexer: pty.multiplexer };
      childStdio = { stdin: pty.terminal, stdout: pty.terminal, stderr: pty.terminal, terminal: pty.terminal };
    } else {
      const [stdinRead, stdinWrite] = pipe();
      toClose.push(stdinRead);
      parentEnds.push(stdinWrite);
      const [stdoutRead, stdoutWrite] = pipe();
      toClose.push(stdoutWrite);
      parentEnds.push(stdoutRead);
      const [stderrRead, stderrWrite] = pipe();
      toClose.push(stderrWrite);
      parentEnds.push(stderrRead);
      stdio = { kind: 'pipes', stdin: stdinWrite, stdout: stdoutRead, stderr: stderrRead };
      childStdio = { stdin: stdinRead, stdout: stdoutWrite, stderr: stderrWrite, terminal: null };
    }

    const program = new ChildProgram();
    child = program;
    appendPrologue(program);
    // The container's rlimits, umask, scheduler… — set while still privileged in the host's user namespace.
    appendProcessSettings(program, settings);
    for (const [type, fd] of namespaceFds) program.syscall('setns', fd, CLONE_FLAG[type]);
    checkpoints.report(program, JOINED);
    checkpoints.awaitGo(program);
    appendLaunch(program, checkpoints, {
      exec: { path: programPath, args: options.args, env, cwd: options.cwd ?? spec.process?.cwd ?? '/' },
      uid: options.privileged ? 0 : spec.process?.user.uid ?? 0,
      gid: options.privileged ? 0 : spec.process?.user.gid ?? 0,
      additionalGids: options.privileged ? [] : spec.process?.user.additionalGids ?? [],
      ...childStdio,
      ...(extras.preserveFds ? { preserveFds: extras.preserveFds } : {}),
      security: options.privileged ? null : securityPlanFor(spec),
      // A new one of its own, never the agent's (../process/session-keyring.ts) — unless the container
      // was made to stay in the caller's (--no-new-keyring), as runc's exec does then.
      ...(sessionKeyringFromConfig(spec) === 'own' ? { sessionKeyring: null } : {}),
    });
    const memory = { shareMemory: !needsOwnMemory(settings) };
    pid = state.namespaces.includes('pid')
      ? insideNamespaces(containerPid, ['pid'], () => program.start(0, memory))
      : program.start(0, memory);
  } catch (error) {
    checkpoints.close();
    child?.release();
    parentEnds.forEach(closeFd);
    throw error;
  } finally {
    toClose.forEach(closeFd);
  }
  checkpoints.closeChildEnds();
  try {
    if (cgroup) cgroup.addProcess(pid);
    if (checkpoints.nextReport() !== JOINED) throw new Error('the exec process exited before joining the container');
    verifyJoined(containerPid, pid, state.namespaces);
    settleProcessSettings(pid, settings);
    checkpoints.go();
    if (checkpoints.nextReport() === EXEC_FAILED) throw badInput(`cannot execute "${options.args[0]}" in container "${state.name}"`);
  } catch (error) {
    signalProcess(pid, SIGKILL);
    reap(pid, true);
    if (stdio) closeParentEnds(stdio);
    throw error;
  } finally {
    checkpoints.close();
    // exec'd, or killed and reaped: either way it no longer runs in the arena
    child.release();
  }
  return { pid, stdio };
}

/**
 * The child cannot branch: a chdir that fails is passed over and the program would run in "/".
 * So a working directory the container lacks is refused here, looked up by the kernel inside the
 * container's mount namespace (its symlinks resolve against the container's root, not the host's).
 */
function checkWorkingDirectory(state: ContainerState, cwd: string): void {
  // The child's chdir runs with "/" as its working directory: a relative path starts there.
  const path = cwd.startsWith('/') ? cwd : `/${cwd}`;
  const isDirectory = (): boolean => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  };
  const found = state.namespaces.includes('mnt') ? insideNamespaces(state.pid!, ['mnt'], isDirectory) : isDirectory();
  if (!found) throw badInput(`working directory "${cwd}" is not a directory in container "${state.name}"`);
}

function verifyJoined(containerPid: number, pid: number, types: readonly NamespaceType[]): void {
  const expected = namespaceInodes(containerPid);
  const actual = namespaceInodes(pid);
  for (const type of types) {
    if (expected[type] !== actual[type]) throw new Error(`exec process is not in the container's ${type} namespace (${actual[type]} ≠ ${expected[type]})`);
  }
}

function closeParentEnds(stdio: ExecStdio): void {
  const fds = stdio.kind === 'terminal' ? [stdio.multiplexer] : [stdio.stdin, stdio.stdout, stdio.stderr];
  fds.forEach(closeFd);
}

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
import type { ExecOptions, NamespaceType } from '../../protocol';
import { ChildProgram } from '../../kernel/child-program';
import { O_RDONLY, SIGKILL } from '../../kernel/constants';
import { closeFd, openFile, pipe } from '../../kernel/files';
import { reap, signalProcess } from '../../kernel/processes';
import { badInput, conflict } from '../../errors';
import { CLONE_FLAG, insideNamespaces, namespaceInodes, namespacePath } from '../namespaces';
import { Checkpoints, EXEC_FAILED } from '../process/checkpoints';
import { RunningExec, type ExecStdio } from '../process/exec-session';
import { appendLaunch, appendPrologue } from '../process/launch';
import { securityPlanFor } from '../process/security-plan';
import { existsInLayers, resolveProgram } from '../process/resolve-program';
import { openPty, resizePty } from '../process/terminal';
import type { ContainerState } from '../state/store';
import type { RuntimeContext } from './context';

const JOINED = 'J';
/** The child joins these itself, user first; pid is entered by the agent around clone. */
const JOIN_ORDER: NamespaceType[] = ['user', 'mnt', 'net', 'uts', 'ipc', 'cgroup'];

/** `beforeStart`: also into a created container, whose first process waits for start (the init step). */
export function execInContainer(context: RuntimeContext, state: ContainerState, options: ExecOptions, beforeStart = false): RunningExec {
  const ready = state.status === 'running' || (beforeStart && state.status === 'created');
  if (!ready || state.pid === null) throw conflict(`container "${state.name}" is ${state.status}, not running`);
  if (!Array.isArray(options.args) || options.args.length === 0) throw badInput('exec needs a command');
  const containerPid = state.pid;
  const spec = context.store.config(state.id);
  const env = options.env ?? spec.process?.env ?? [];
  const root = state.namespaces.includes('mnt') ? `/proc/${containerPid}/root` : '';
  const program = resolveProgram(options.args[0]!, env, existsInLayers([root]));
  const cgroup = state.cgroup ? context.cgroups.open(state.cgroup) : null;

  const toClose: number[] = [];
  const namespaceFds = new Map<NamespaceType, number>();
  let stdio: ExecStdio;
  let childStdio: { stdin: number; stdout: number; stderr: number; terminal: number | null };
  const checkpoints = new Checkpoints();
  try {
    for (const type of JOIN_ORDER.filter((t) => state.namespaces.includes(t))) {
      const fd = openFile(namespacePath(containerPid, type), O_RDONLY);
      namespaceFds.set(type, fd);
      toClose.push(fd);
    }
    if (options.tty) {
      const pty = openPty(root ? `${root}/dev/pts/ptmx` : '/dev/ptmx');
      resizePty(pty.multiplexer, options.cols ?? 80, options.rows ?? 24);
      toClose.push(pty.terminal);
      stdio = { kind: 'terminal', multiplexer: pty.multiplexer };
      childStdio = { stdin: pty.terminal, stdout: pty.terminal, stderr: pty.terminal, terminal: pty.terminal };
    } else {
      const [stdinRead, stdinWrite] = pipe();
      const [stdoutRead, stdoutWrite] = pipe();
      const [stderrRead, stderrWrite] = pipe();
      toClose.push(stdinRead, stdoutWrite, stderrWrite);
      stdio = { kind: 'pipes', stdin: stdinWrite, stdout: stdoutRead, stderr: stderrRead };
      childStdio = { stdin: stdinRead, stdout: stdoutWrite, stderr: stderrWrite, terminal: null };
    }
  } catch (error) {
    toClose.forEach(closeFd);
    checkpoints.close();
    throw error;
  }

  const child = new ChildProgram();
  appendPrologue(child);
  for (const [type, fd] of namespaceFds) child.syscall('setns', fd, CLONE_FLAG[type]);
  checkpoints.report(child, JOINED);
  checkpoints.awaitGo(child);
  appendLaunch(child, checkpoints, {
    exec: { path: program, args: options.args, env, cwd: options.cwd ?? spec.process?.cwd ?? '/' },
    uid: options.privileged ? 0 : spec.process?.user.uid ?? 0,
    gid: options.privileged ? 0 : spec.process?.user.gid ?? 0,
    additionalGids: options.privileged ? [] : spec.process?.user.additionalGids ?? [],
    ...childStdio,
    security: options.privileged ? null : securityPlanFor(spec),
  });

  let pid: number;
  try {
    pid = state.namespaces.includes('pid')
      ? insideNamespaces(containerPid, ['pid'], () => child.start(0))
      : child.start(0);
  } catch (error) {
    checkpoints.close();
    child.release();
    closeParentEnds(stdio);
    throw error;
  } finally {
    toClose.forEach(closeFd);
  }
  checkpoints.closeChildEnds();
  try {
    if (cgroup) cgroup.addProcess(pid);
    if (checkpoints.nextReport() !== JOINED) throw new Error('the exec process exited before joining the container');
    verifyJoined(containerPid, pid, state.namespaces);
    checkpoints.go();
    if (checkpoints.nextReport() === EXEC_FAILED) throw badInput(`cannot execute "${options.args[0]}" in container "${state.name}"`);
  } catch (error) {
    signalProcess(pid, SIGKILL);
    reap(pid, true);
    closeParentEnds(stdio);
    throw error;
  } finally {
    checkpoints.close();
    // exec'd, or killed and reaped: either way it no longer runs in the arena
    child.release();
  }
  return new RunningExec(randomBytes(8).toString('hex'), pid, stdio);
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

/*
 * OCI hooks: programs the runtime runs at fixed points of a container's life.
 *
 * A runtime only knows namespaces, mounts and cgroups. Everything else a platform wants done to a
 * container — plug it into a network it made (CNI plugins, libnetwork's setkey), hand it a GPU
 * (nvidia-container-runtime-hook mounts the driver's libraries and device nodes into the root
 * before the program starts), register it with a service, clean up afterwards — comes in through
 * hooks: config.json's `hooks` lists, per phase, programs (path, args, env, timeout in seconds).
 * Each gets the container's state JSON (ociVersion, id, status, pid, bundle, annotations) on its
 * stdin, so it knows which process's namespaces to act on and where the bundle is.
 *
 * The phases (runtime-spec config.md, "POSIX-platform Hooks"), in the order they run:
 *
 *   prestart         deprecated, still run: as createRuntime, just before it
 *   createRuntime    after the namespaces and mounts exist, before pivot_root; in the runtime's
 *                    namespaces — where a network plugin moves a veth into /proc/<pid>/ns/net
 *   createContainer  same moment, but inside the container's namespaces (its mount namespace,
 *                    root not yet switched): where a GPU hook bind mounts into the root
 *   startContainer   at `start`, inside the container — namespaces, cgroup and its root — just
 *                    before the user's program executes
 *   poststart        after the user's program started, before `start` returns; runtime namespaces
 *   poststop         after the container is deleted, before `delete` returns; runtime namespaces
 *
 * A hook that fails (non-zero exit, killed at its timeout, not executable) in the first four
 * phases aborts: the caller stops and deletes the container and reports the error. A failing
 * poststart or poststop hook is only a warning; the remaining hooks and the lifecycle go on.
 *
 * The hook process is made like an exec's (./lifecycle/exec.ts): a ChildProgram that, for the
 * container's phases, is cloned inside the container's PID namespace, joins its user, mnt, net,
 * uts, ipc and cgroup namespaces and its cgroup, and chroots into the container's root as
 * /proc/<pid>/root shows it — checked against the kernel's /proc/<pid>/ns/* before it may exec.
 * The runtime waits for each hook synchronously, as create does for every other step: in
 * containers-lab-runc that is all the process does; in the agent's service a slow hook holds the
 * service for as long (bounded by its timeout) — the price of hooks running inside create.
 */
import { openSync, readSync, closeSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '../lazy-builtins';
import type { NamespaceType, OciHook, OciHooks, OciSpec } from '../protocol';
import { ChildProgram } from '../kernel/child-program';
import { CLOSE_RANGE_CLOEXEC, O_DIRECTORY, O_PATH, O_RDONLY, O_WRONLY, SIGKILL } from '../kernel/constants';
import { closeFd, openFile, pipe, writeFd } from '../kernel/files';
import { reap, signalProcess } from '../kernel/processes';
import { LabError } from '../errors';
import type { OciState } from '../oci/validate';
import { sleepMs } from './cgroups/cgroupfs';
import type { Cgroup } from './cgroups';
import { CLONE_FLAG, insideNamespaces, namespaceInodes, namespacePath } from './namespaces';
import { Checkpoints, EXEC_FAILED } from './process/checkpoints';
import { appendPrologue } from './process/launch';

export type HookPhase = keyof OciHooks;

/** The runtime-spec's state document, as a hook reads it on stdin (the same `runc state` prints). */
export type HookState = OciState;

/** Inside a container: its first process (whose namespaces and root are joined) and cgroup. */
export interface ContainerPlace {
  pid: number;
  namespaces: readonly NamespaceType[];
  cgroup: Cgroup | null;
}

/** Where each phase runs: null is the runtime's own namespaces. */
const IN_CONTAINER: Record<HookPhase, boolean> = {
  prestart: false, createRuntime: false, createContainer: true, startContainer: true, poststart: false, poststop: false,
};
const ABORTS: Record<HookPhase, boolean> = {
  prestart: true, createRuntime: true, createContainer: true, startContainer: true, poststart: false, poststop: false,
};
/** The child joins these itself, user first (it grants privilege over the others); pid is entered around clone. */
const JOIN_ORDER: NamespaceType[] = ['user', 'mnt', 'net', 'uts', 'ipc', 'cgroup'];
const JOINED = 'J';
/** A hook's output kept for the error message. */
const OUTPUT_TAIL = 2000;
/** The state is written into the hook's stdin pipe before it runs: it must fit the pipe. */
const PIPE_CAPACITY = 65536;

/** The caller's document named a hook that failed: one line, as every error the user can act on. */
export class HookError extends LabError {
  constructor(message: string) {
    super('bad-input', message);
  }
}

/**
 * Runs the phase's hooks in order. An aborting phase throws HookError at the first failure; the
 * others report each failure through `warn` and go on.
 */
export function runHooks(hooks: OciHooks | undefined, phase: HookPhase, state: HookState, place: ContainerPlace | null, warn: (message: string) => void): void {
  const list = hooks?.[phase] ?? [];
  if (list.length === 0) return;
  if (IN_CONTAINER[phase] && !place) throw new HookError(`${phase} hooks need the container's process`);
  const input = Buffer.from(JSON.stringify(state));
  if (input.length >= PIPE_CAPACITY) throw new HookError(`${phase} hooks: the state document is too large for a hook's stdin (${input.length} bytes)`);
  list.forEach((hook, index) => {
    try {
      runOne(hook, input, IN_CONTAINER[phase] ? place : null);
    } catch (error) {
      const message = `${phase} hook #${index} (${hook.path}): ${(error as Error).message}`;
      if (ABORTS[phase]) throw new HookError(message);
      warn(message);
    }
  });
}

function runOne(hook: OciHook, input: Buffer, place: ContainerPlace | null): void {
  const { pid, output } = spawnHook(hook, input, place);
  try {
    const deadline = hook.timeout !== undefined ? Date.now() + hook.timeout * 1000 : Infinity;
    let status = reap(pid, false);
    while (!status) {
      if (Date.now() > deadline) {
        signalProcess(-pid, SIGKILL);
        reap(pid, true);
        throw new Error(`timed out after ${hook.timeout}s${tail(output)}`);
      }
      sleepMs(2);
      status = reap(pid, false);
    }
    if (status.code !== 0) throw new Error(`${status.signal !== null ? `killed by signal ${status.signal}` : `exit status ${status.code}`}${tail(output)}`);
  } finally {
    closeSync(output);
  }
}

/** Clones the hook's process, ready to run: its PID (once exec'd) and the file its output goes to. */
function spawnHook(hook: OciHook, input: Buffer, place: ContainerPlace | null): { pid: number; output: number } {
  const toClose: number[] = [];
  const program = new ChildProgram();
  const checkpoints = new Checkpoints();
  // stdout and stderr go to an unlinked file: read back for the error message, never blocking the hook.
  const outputPath = join(tmpdir(), `containers-lab-hook-${randomBytes(6).toString('hex')}`);
  const output = openSync(outputPath, 'wx+', 0o600);
  unlinkSync(outputPath);
  let pid: number | null = null;
  try {
    const [stdinRead, stdinWrite] = pipe();
    toClose.push(stdinRead);
    try {
      writeFd(stdinWrite, input);
    } finally {
      closeFd(stdinWrite);
    }
    const joined = place ? JOIN_ORDER.filter((type) => place.namespaces.includes(type)) : [];
    appendPrologue(program);
    if (place) {
      // Opened by the runtime (host root) before the child gives up the host's view.
      const root = openFile(`/proc/${place.pid}/root`, O_PATH | O_DIRECTORY);
      toClose.push(root);
      const nsFds = joined.map((type) => {
        const fd = openFile(namespacePath(place.pid, type), O_RDONLY);
        toClose.push(fd);
        return { type, fd };
      });
      const membership = place.cgroup ? place.cgroup.membershipFiles().map((file) => openFile(file, O_WRONLY)) : [];
      toClose.push(...membership);
      for (const fd of membership) program.syscall('write', fd, program.arena.cString('0'), 1);
      for (const { type, fd } of nsFds) program.syscall('setns', fd, CLONE_FLAG[type]);
      // The container's root as its first process has it: the host's copy before pivot_root, its own after.
      program.syscall('fchdir', root);
      program.syscall('chroot', '.');
      program.syscall('chdir', '/');
    }
    program.syscall('dup3', stdinRead, 0, 0);
    program.syscall('dup3', output, 1, 0);
    program.syscall('dup3', output, 2, 0);
    // Nothing else of the runtime's reaches the hook; the checkpoint pipe still closes at execve.
    program.syscall('close_range', 3, 0xffffffff, CLOSE_RANGE_CLOEXEC);
    // A session (and process group) of its own: at its timeout the hook is killed with whatever it started.
    program.syscall('setsid');
    checkpoints.report(program, JOINED);
    checkpoints.awaitGo(program);
    program.unblockSignals();
    const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
    // No env at all: the runtime's own environment, as runc's hooks get (Go's exec with a nil Env).
    const env = hook.env ?? Object.entries(process.env).map(([name, value]) => `${name}=${value ?? ''}`);
    program.syscall('execve', hook.path, program.arena.cStringArray(args), program.arena.cStringArray(env));
    checkpoints.report(program, EXEC_FAILED);
    program.syscall('exit_group', 127);
    pid = place?.namespaces.includes('pid')
      ? insideNamespaces(place.pid, ['pid'], () => program.start(0))
      : program.start(0);
    toClose.splice(0).forEach(closeFd);
    checkpoints.closeChildEnds();
    if (checkpoints.nextReport() !== JOINED) throw new Error(`its process exited before it was set up${tail(output)}`);
    if (place) verifyInside(place, pid, [...joined, ...(place.namespaces.includes('pid') ? ['pid' as const] : [])]);
    checkpoints.go();
    if (checkpoints.nextReport() === EXEC_FAILED) throw new Error('cannot execute it (missing, or not an executable)');
    return { pid, output };
  } catch (error) {
    if (pid !== null) {
      signalProcess(pid, SIGKILL);
      reap(pid, true);
    }
    closeSync(output);
    throw error;
  } finally {
    toClose.forEach(closeFd);
    checkpoints.close();
    // exec'd, or killed and reaped: it no longer runs in the arena
    program.release();
  }
}

/** The kernel's word that the hook's process is in the container's namespaces. */
function verifyInside(place: ContainerPlace, pid: number, types: readonly NamespaceType[]): void {
  const expected = namespaceInodes(place.pid);
  const actual = namespaceInodes(pid);
  for (const type of types) {
    if (expected[type] !== actual[type]) throw new Error(`its process is not in the container's ${type} namespace`);
  }
}

function tail(output: number): string {
  const buffer = Buffer.alloc(64 * 1024);
  const length = readSync(output, buffer, 0, buffer.length, 0);
  // one line: the output's lines joined
  const text = buffer.subarray(0, length).toString('utf8').trim().split(/\s*\n\s*/).join(' | ');
  return text ? `: ${text.slice(-OUTPUT_TAIL)}` : '';
}

/** The state a hook is given; `bundle` is the OCI bundle's directory (the agent's own: the container's state directory). */
export function hookState(spec: OciSpec, id: string, status: HookState['status'], pid: number | null, bundle: string): HookState {
  return {
    ociVersion: spec.ociVersion, id, status, ...(pid !== null ? { pid } : {}), bundle,
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  };
}

/** Where a warning goes when the caller names no place: the runtime's stderr. */
export function warnOnStderr(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

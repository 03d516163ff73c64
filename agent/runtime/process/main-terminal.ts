/*
 * The container's first process on a terminal (config.json process.terminal: true), as
 * `docker run -dit busybox` gives `sh`: a learner's container whose PID 1 is a plain interactive
 * shell that waits for input instead of exiting — no idle loop to explain.
 *
 * A pseudo-terminal is a pair (see ./terminal.ts): the program holds the terminal end as its
 * stdin, stdout, stderr and controlling tty; someone must hold the other end, the multiplexer,
 * for as long as the program runs — the moment the last multiplexer descriptor closes, the kernel
 * hangs the terminal up and an interactive shell reads end-of-file and exits. Docker leaves that
 * end with a small process beside the container (containerd-shim), so the container outlives
 * dockerd. The agent does the same: a host `cat` — the "terminal keeper" — holds the multiplexer
 * as its stdin and copies everything the terminal shows into the container's log, which is what
 * `containers-lab logs` reads. It runs in a session of its own, so containers keep their
 * terminals when the agent stops or restarts; and it needs no one to stop it: once every process
 * that had the terminal has exited, its read fails (EIO) and it ends.
 *
 * Order of events, where the pair comes from, and why the first process opens its end by path:
 *
 *   1. With a mount namespace of its own, the terminal belongs to the container's own devpts
 *      instance (its /dev/pts, mounted with `newinstance` while the rootfs is assembled), so inside
 *      the container it is /dev/pts/0 and `tty` answers that. That instance exists only after the
 *      first process was cloned; the agent opens its ptmx through /proc/<pid>/root. Without one,
 *      the host's /dev/ptmx serves, opened before the clone.
 *   2. The agent gives the terminal end to the container's user (runc does the same, "fixStdioPermissions"):
 *      in a user namespace, "root" inside may only open files whose owner is mapped there.
 *   3. The child's program is fixed before clone and cannot learn a descriptor number, so it takes
 *      the terminal the classic way: close(0), then open the terminal's path — open(2) returns the
 *      lowest free number, 0. Its launch then makes 0 its controlling terminal and copies it to 1
 *      and 2 (./launch.ts). The path is known in advance: a fresh devpts instance numbers its first
 *      terminal 0 (checked), and a host terminal's number is read before the program is built.
 *   4. At its next checkpoint the agent checks, against the kernel, that the child's descriptor 0
 *      is that terminal, then closes its own ends: from then on only the keeper holds the multiplexer.
 */
import { existsSync, fchownSync, fstatSync, readlinkSync, statSync } from 'node:fs';
import type { OciIdMapping, OciSpec } from '../../protocol';
import { ChildProgram } from '../../kernel/child-program';
import { AT_FDCWD, O_APPEND, O_NOCTTY, O_RDWR, O_WRONLY, SIGKILL, TIOCGPTN } from '../../kernel/constants';
import { closeFd, ioctlBuffer, openFile } from '../../kernel/files';
import { reap, signalProcess } from '../../kernel/processes';
import { hostIdFor } from '../user-namespace';
import { sendDescriptor } from '../../kernel/unix-sockets';
import { Checkpoints, EXEC_FAILED } from './checkpoints';
import { appendLaunch, appendPrologue } from './launch';
import { openPty, resizePty, type Pty } from './terminal';

/** The keeper: the host's own `cat`. */
const KEEPER_CANDIDATES = ['/usr/bin/cat', '/bin/cat'];
/** A terminal's size when config.json gives no process.consoleSize (what a VT100 has). */
const DEFAULT_SIZE = { width: 80, height: 24 };

/** The launch plan's stdio for a first process on a terminal: descriptor 0 everywhere. */
export const TERMINAL_STDIO = { stdin: 0, stdout: 0, stderr: 0, terminal: 0 } as const;

export class MainTerminal {
  private pty: Pty | null = null;
  private keeperPid: number | null = null;

  private constructor(
    private readonly spec: OciSpec,
    /** The container's merged root as the agent sees it, or null when it shares the host's mounts. */
    private readonly merged: string | null,
    /** Where the child opens its end (a path in the child's own mount namespace, before pivot_root). */
    readonly childPath: string,
    pty: Pty | null,
  ) {
    this.pty = pty;
  }

  /** Null when the document asks for no terminal. A host terminal is made now (its number goes into the path). */
  static forSpec(spec: OciSpec, merged: string | null): MainTerminal | null {
    if (spec.process?.terminal !== true) return null;
    if (merged !== null) return new MainTerminal(spec, merged, `${merged}/dev/pts/0`, null);
    const pty = openPty('/dev/ptmx');
    try {
      return new MainTerminal(spec, null, `/dev/pts/${terminalNumber(pty.multiplexer)}`, pty);
    } catch (error) {
      closePty(pty);
      throw error;
    }
  }

  /** Child steps, once its root is assembled: the terminal becomes descriptor 0. */
  appendOpen(program: ChildProgram): void {
    program.syscall('close', 0);
    program.syscall('openat', AT_FDCWD, this.childPath, O_RDWR | O_NOCTTY, 0);
  }

  /**
   * Agent, after the rootfs is assembled and before the child goes on: the pair (from the
   * container's devpts), owned by the container's user, sized, and its keeper started (`sink`:
   * the log it copies into) or the multiplexer sent to a console socket.
   */
  create(pid: number, sink: string | { consoleSocket: string }): void {
    if (this.merged !== null) {
      this.pty = openPty(`/proc/${pid}/root${this.merged}/dev/pts/ptmx`);
      const number = terminalNumber(this.pty.multiplexer);
      if (number !== 0) throw new Error(`the container's new /dev/pts numbered its first terminal ${number}, not 0`);
    }
    const pty = this.pty!;
    const user = this.spec.process!.user;
    fchownSync(pty.terminal, onHost(this.spec.linux?.uidMappings, user.uid), onHost(this.spec.linux?.gidMappings, user.gid));
    const size = this.spec.process!.consoleSize ?? DEFAULT_SIZE;
    resizePty(pty.multiplexer, size.width, size.height);
    // The multiplexer goes to a keeper of our own that copies the terminal into the log, or — runc's
    // --console-socket — to whoever listens on that socket (containerd's shim), who then holds it.
    if (typeof sink === 'string') this.keeperPid = startKeeper(pty.multiplexer, sink);
    else sendDescriptor(sink.consoleSocket, pty.multiplexer, this.merged !== null ? '/dev/pts/0' : this.childPath);
  }

  /** Agent, at the child's next checkpoint: its descriptor 0 is our terminal (the kernel's word); then let go of both ends. */
  verifyTaken(pid: number): void {
    const pty = this.pty!;
    const ours = fstatSync(pty.terminal);
    let theirs: { dev: number; rdev: number } | null = null;
    try {
      theirs = statSync(`/proc/${pid}/fd/0`);
    } catch {
      theirs = null;
    }
    if (!theirs || theirs.rdev !== ours.rdev || theirs.dev !== ours.dev) {
      let seen = "nothing"; try { seen = readlinkSync(`/proc/${pid}/fd/0`); } catch { /* none */ }
      throw new Error(`the container's first process did not get its terminal (${this.childPath} as descriptor 0; it has ${seen})`);
    }
    closePty(pty);
    this.pty = null;
  }

  /** Undo: the agent's ends closed, the keeper ended (it would end by itself once the child is gone). */
  close(): void {
    if (this.pty) closePty(this.pty);
    this.pty = null;
    if (this.keeperPid !== null) signalProcess(this.keeperPid, SIGKILL);
    this.keeperPid = null;
  }
}

/** A container id as the host numbers it: through the user namespace's mapping, if there is one. */
function onHost(mappings: readonly OciIdMapping[] | undefined, id: number): number {
  return mappings && mappings.length > 0 ? hostIdFor(mappings, id) ?? id : id;
}

/** The N of /dev/pts/N (TIOCGPTN). */
function terminalNumber(multiplexer: number): number {
  const number = Buffer.alloc(4);
  ioctlBuffer(multiplexer, TIOCGPTN, number, 'terminal number');
  return number.readUInt32LE(0);
}

function closePty(pty: Pty): void {
  closeFd(pty.terminal);
  closeFd(pty.multiplexer);
}

/**
 * `cat` with the multiplexer as stdin, the container's log (appended) as stdout and /dev/null as
 * stderr, in a session of its own so no signal meant for the agent's process group or terminal
 * reaches it. Started as the agent starts every process (./launch.ts): nothing else of the agent's
 * is left open in it, and it no longer dies with the agent once it has exec'd.
 */
function startKeeper(multiplexer: number, logPath: string): number {
  const path = KEEPER_CANDIDATES.find((candidate) => existsSync(candidate));
  if (!path) throw new Error(`no cat on this host (${KEEPER_CANDIDATES.join(', ')}) to keep the container's terminal`);
  const log = openFile(logPath, O_WRONLY | O_APPEND);
  const nothing = openFile('/dev/null', O_RDWR);
  const program = new ChildProgram();
  const checkpoints = new Checkpoints();
  try {
    appendPrologue(program);
    program.syscall('setsid');
    appendLaunch(program, checkpoints, {
      exec: { path, args: ['cat'], env: [], cwd: '/' },
      uid: 0, gid: 0, additionalGids: [],
      stdin: multiplexer, stdout: log, stderr: nothing, terminal: null,
    });
    const pid = program.start(0);
    checkpoints.closeChildEnds();
    if (checkpoints.nextReport() === EXEC_FAILED) throw new Error(`could not start ${path} to keep the container's terminal`);
    collectWhenDone(pid);
    return pid;
  } finally {
    checkpoints.close();
    // exec'd or exited: it no longer runs in the program's memory
    program.release();
    closeFd(log);
    closeFd(nothing);
  }
}

/* Keepers this agent started: their exit status is collected (no zombie is left) for as long as
 * the agent process lives — across runtimes opened and closed in it. Once the agent is gone they
 * are orphans, and init collects them. */
const keepers = new Set<number>();

function collectWhenDone(pid: number): void {
  if (keepers.size === 0) process.on('SIGCHLD', collectKeepers);
  keepers.add(pid);
  collectKeepers();
}

function collectKeepers(): void {
  for (const pid of keepers) {
    try {
      if (reap(pid) === null) continue;
    } catch {
      // ECHILD: already collected
    }
    keepers.delete(pid);
  }
  if (keepers.size === 0) process.off('SIGCHLD', collectKeepers);
}

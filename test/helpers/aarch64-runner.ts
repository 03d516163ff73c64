/*
 * Runs the agent's real child-process path once and prints what happened as JSON.
 *
 * Bundled by test/aarch64.test.ts and run twice: by the host's x86-64 node, and by an aarch64
 * node under qemu-user (scripts/aarch64-env.sh) — there the ucontext chain, glibc's clone(3),
 * setcontext/makecontext and the per-arch layout are aarch64 code, exactly as on an arm64 VM.
 * The child runs the same steps a container's process runs (Checkpoints + appendLaunch) and
 * exec's /bin/sh, which reports argv, env, cwd and the kernel's view of its signal state.
 *
 * Under qemu-user, execve(2) of a host (x86-64) binary runs it natively: everything up to the
 * exec is emulated aarch64, everything after it is the host kernel's own process.
 *
 *   node aarch64-runner.js [--layout x64|arm64] [--clone-flags N]
 */
import { readFileSync } from 'node:fs';
import { ChildProgram } from '../../agent/kernel/child-program';
import { supportedArch, O_RDONLY, PR_SET_PDEATHSIG, SIGKILL } from '../../agent/kernel/constants';
import { closeFd, openFile, pipe, readFd } from '../../agent/kernel/files';
import { reap, type ExitStatus } from '../../agent/kernel/processes';
import { blockSignals, blockedSignals, probeUcontextLayout, signalMaskWord, type UcontextProbe } from '../../agent/kernel/ucontext-probe';
import { Checkpoints } from '../../agent/runtime/process/checkpoints';
import { appendLaunch } from '../../agent/runtime/process/launch';

/** Blocked in the parent while the child is created; the child must not inherit them. */
export const PARENT_BLOCKED = [12, 28]; // SIGUSR2, SIGWINCH

export const SHELL_SCRIPT =
  'echo "argv=$0|$1|$2"; echo "env=$LAB_MARK"; echo "cwd=$(pwd -P)"; exec grep -E "^Sig(Blk|Ign):" /proc/self/status';

export interface RunnerResult {
  arch: string;
  node: string;
  layoutUsed: string;
  probe: UcontextProbe;
  parentBlocked: string;
  /** SigIgn of the parent (Node ignores SIGPIPE and SIGXFSZ; exec keeps ignored dispositions). */
  parentIgnored: string;
  /** Error from clone() itself (e.g. namespace flags refused), or null. */
  cloneError: string | null;
  /** Checkpoint marks in the order the child sent them; null means end-of-file (exec'd or died). */
  reports: (string | null)[];
  /** The child's blocked-signal word as glibc's sigprocmask saw it inside the child, before exec. */
  childBlocked: string | null;
  output: string;
  exit: ExitStatus | null;
  cloneToExecMs: number | null;
}

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function readAll(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(4096);
  for (;;) {
    const count = readFd(fd, chunk);
    if (count === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(chunk.subarray(0, count)));
  }
}

function hex(word: bigint): string {
  return word.toString(16).padStart(16, '0');
}

export function run(): RunnerResult {
  const layoutUsed = supportedArch(option('--layout') ?? process.arch);
  const cloneFlags = Number(option('--clone-flags') ?? '0');
  const probe = probeUcontextLayout();

  const checkpoints = new Checkpoints();
  const [outputRead, outputWrite] = pipe();
  const [witnessRead, witnessWrite] = pipe();
  const nullFd = openFile('/dev/null', O_RDONLY);

  const child = new ChildProgram();
  child.call('prctl', PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  checkpoints.awaitGo(child);
  // The child's own view of its signal mask, sent to the parent before anything else changes.
  const childMask = child.arena.zeroed(128);
  child.call('sigprocmask', 0, null, childMask);
  child.call('write', witnessWrite, childMask, 8);
  checkpoints.report(child, 'M');
  checkpoints.awaitGo(child);
  appendLaunch(child, checkpoints, {
    path: '/bin/sh',
    args: ['sh', '-c', SHELL_SCRIPT, 'lab-arg0', 'two words', 'third'],
    env: ['LAB_MARK=aarch64-chain', 'PATH=/usr/bin:/bin'],
    cwd: '/tmp',
    uid: 0,
    gid: 0,
    additionalGids: [],
    stdin: nullFd,
    stdout: outputWrite,
    stderr: outputWrite,
    terminal: null,
  });

  const result: RunnerResult = {
    arch: process.arch,
    node: process.version,
    layoutUsed,
    probe,
    parentBlocked: '',
    parentIgnored: /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '',
    cloneError: null,
    reports: [],
    childBlocked: null,
    output: '',
    exit: null,
    cloneToExecMs: null,
  };

  // getcontext() records the current mask in every context: block some signals so a wrong
  // uc_sigmask offset would leave them blocked in the child.
  const restore = blockSignals(PARENT_BLOCKED);
  let pid: number | null = null;
  const started = process.hrtime.bigint();
  try {
    result.parentBlocked = hex(blockedSignals());
    pid = child.start(cloneFlags, layoutUsed);
  } catch (error) {
    result.cloneError = error instanceof Error ? error.message : String(error);
  } finally {
    restore();
    closeFd(nullFd);
    closeFd(outputWrite);
    closeFd(witnessWrite);
    checkpoints.closeChildEnds();
  }

  if (pid !== null) {
    checkpoints.go();
    const first = checkpoints.nextReport();
    result.reports.push(first);
    if (first === 'M') {
      const word = Buffer.alloc(8);
      if (readFd(witnessRead, word) === 8) result.childBlocked = hex(word.readBigUInt64LE(0));
      checkpoints.go();
      result.reports.push(checkpoints.nextReport());
      result.cloneToExecMs = Number(process.hrtime.bigint() - started) / 1e6;
    }
    result.output = readAll(outputRead).toString('utf8');
    result.exit = reap(pid, true);
  }
  checkpoints.close();
  closeFd(outputRead);
  closeFd(witnessRead);
  return result;
}

export const EXPECTED_CHILD_BLOCKED = hex(0n);
export const PARENT_BLOCKED_WORD = hex(signalMaskWord(PARENT_BLOCKED));

if (require.main === module) process.stdout.write(`${JSON.stringify(run())}\n`);

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
 *   node aarch64-runner.js [--no-shared-memory] [--wrong-sigmask] [--clone-flags N]
 */
import { readFileSync } from 'node:fs';
import { ChildProgram, UCONTEXT_LAYOUTS } from '../../agent/kernel/child-program';
import { supportedArch, O_DIRECTORY, O_RDONLY } from '../../agent/kernel/constants';
import { closeFd, openFile, pipe, readFd } from '../../agent/kernel/files';
import { closeProcessFd, openProcessDir } from '../../agent/kernel/procfs';
import { reap, type ExitStatus } from '../../agent/kernel/processes';
import { blockSignals, blockedSignals, probeUcontextLayout, signalMaskWord, type UcontextProbe } from '../../agent/kernel/ucontext-probe';
import { Checkpoints } from '../../agent/runtime/process/checkpoints';
import { appendLaunch, appendPrologue } from '../../agent/runtime/process/launch';

/** Blocked in the parent while the child is created; the child must not inherit them. */
export const PARENT_BLOCKED = [12, 28]; // SIGUSR2, SIGWINCH
const SIG_BLOCK = 0;

export const SHELL_SCRIPT =
  'echo "argv=$0|$1|$2"; echo "env=$LAB_MARK"; echo "cwd=$(pwd -P)"; exec grep -E "^Sig(Blk|Ign):" /proc/self/status';

export interface RunnerResult {
  arch: string;
  node: string;
  /** The uc_sigmask offset ChildProgram used (differs from the probe only under --wrong-sigmask). */
  sigmaskOffsetUsed: number;
  shareMemory: boolean;
  probe: UcontextProbe;
  parentBlocked: string;
  /** SigIgn of the parent (Node ignores SIGPIPE and SIGXFSZ; exec keeps ignored dispositions). */
  parentIgnored: string;
  /** Error from clone() itself (e.g. namespace flags refused), or null. */
  cloneError: string | null;
  /** Checkpoint marks in the order the child sent them; null means end-of-file (exec'd or died). */
  reports: (string | null)[];
  /** The child's blocked-signal word, read inside the child while it runs its steps (before exec). */
  childBlocked: string | null;
  output: string;
  exit: ExitStatus | null;
  cloneToExecMs: number | null;
  /** Opening directories with the repo's O_DIRECTORY (open flags differ on aarch64): 'ok' or the error. */
  directoryOpens: Record<string, string>;
}

/** The agent's own directory opens, as the host-inspection and namespace code do them. */
function directoryOpens(): Record<string, string> {
  const outcome = (open: () => number, close: (fd: number) => void): string => {
    try {
      const fd = open();
      if (fd < 0) return `failed (${fd})`;
      close(fd);
      return 'ok';
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  };
  return {
    'openProcessDir(self)': outcome(() => openProcessDir(process.pid), closeProcessFd),
    "openFile('/tmp', O_DIRECTORY)": outcome(() => openFile('/tmp', O_RDONLY | O_DIRECTORY), closeFd),
  };
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
  const arch = supportedArch();
  const cloneFlags = Number(option('--clone-flags') ?? '0');
  // qemu-user cannot run a CLONE_VM child that is not a thread: fork semantics there.
  const shareMemory = !process.argv.includes('--no-shared-memory');
  const probe = probeUcontextLayout();

  const checkpoints = new Checkpoints();
  const [outputRead, outputWrite] = pipe();
  const [witnessRead, witnessWrite] = pipe();
  const nullFd = openFile('/dev/null', O_RDONLY);

  // Fault injection for the negative control: the other architecture's uc_sigmask offset.
  if (process.argv.includes('--wrong-sigmask')) {
    const other = arch === 'x64' ? 'arm64' : 'x64';
    UCONTEXT_LAYOUTS[arch] = { ...UCONTEXT_LAYOUTS[arch], sigmask: UCONTEXT_LAYOUTS[other].sigmask };
  }

  const child = new ChildProgram(arch);
  appendPrologue(child);
  checkpoints.awaitGo(child);
  // The child's own view of its signal mask while it runs its steps, sent to the parent.
  const childMask = child.arena.zeroed(128);
  child.syscall('rt_sigprocmask', SIG_BLOCK, null, childMask, 8);
  child.syscall('write', witnessWrite, childMask, 8);
  checkpoints.report(child, 'M');
  checkpoints.awaitGo(child);
  appendLaunch(child, checkpoints, {
    exec: {
      path: '/bin/sh',
      args: ['sh', '-c', SHELL_SCRIPT, 'lab-arg0', 'two words', 'third'],
      env: ['LAB_MARK=aarch64-chain', 'PATH=/usr/bin:/bin'],
      cwd: '/tmp',
    },
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
    sigmaskOffsetUsed: 0,
    shareMemory,
    probe,
    parentBlocked: '',
    parentIgnored: /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '',
    cloneError: null,
    reports: [],
    childBlocked: null,
    output: '',
    exit: null,
    cloneToExecMs: null,
    directoryOpens: directoryOpens(),
  };

  // getcontext() records the current mask in every context: block some signals so a wrong
  // uc_sigmask offset would leave them blocked in the child.
  const restore = blockSignals(PARENT_BLOCKED);
  let pid: number | null = null;
  const started = process.hrtime.bigint();
  try {
    result.parentBlocked = hex(blockedSignals());
    result.sigmaskOffsetUsed = UCONTEXT_LAYOUTS[arch].sigmask;
    pid = child.start(cloneFlags, { shareMemory });
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
  // Only now: with shared memory the child ran in this arena until it exec'd.
  child.release();
  checkpoints.close();
  closeFd(outputRead);
  closeFd(witnessRead);
  return result;
}

/** Every signal but SIGKILL and SIGSTOP (which cannot be blocked): the child's mask until exec. */
export const ALL_BLOCKABLE_WORD = hex(BigInt.asUintN(64, ~signalMaskWord([9, 19])));
export const PARENT_BLOCKED_WORD = hex(signalMaskWord(PARENT_BLOCKED));

if (require.main === module) process.stdout.write(`${JSON.stringify(run())}\n`);

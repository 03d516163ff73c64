/*
 * Every CLI verb answers the same standalone (no service on the socket: a fresh `containers-lab`
 * process runs the agent itself, as a user's shell would start it) as through a real
 * `containers-lab serve` process: the same exit status, stdout and stderr for run (-d and
 * attached), ps, ps --json, exec, inspect --json, logs, stop, rm and errors — up to ids, PIDs and
 * times, which legitimately differ. That includes the exit code a stopped container's record
 * shows: standalone, the CLI that stops it is not its parent and learns it from the kernel's
 * process events connector. exec must report its program's status both ways: 3 for
 * `exit 3`, 137 for a `dd` the container's memory limit OOM-kills (the cgroup's own oom_kill
 * counter is the witness), and the status of a program that closed its output before exiting.
 * Standalone, nothing but the exit watcher then keeps the CLI alive, and it used to end with 0 and
 * no output.
 *
 * Both ways run the same script, one after the other on one state root, with the bundled CLI
 * (dist/agent/containers-lab.js, as `npx containers-lab` runs it). Containers go on this file's own bridge and
 * subnet; everything is removed at the end, and the kernel is asked whether anything is left.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliProcess, type CliResult } from './helpers/cli';
import { useOwnDefaultNetwork } from './helpers/default-network';
import { cgroupDirsNamed, leftovers, NONE_LEFT, processExists } from './helpers/kernel-witness';
import { AGENT_BUNDLE, ensureBuilt, startService, stopService, type RunningService } from './helpers/service';

const BRIDGE = 'clbothw0';
const SUBNET = '10.79.252.0/24';
/** A CLI that hangs is stopped (by its own PID) rather than hanging the file. */
const CLI_TIMEOUT_MS = 60_000;

const NAME = 'bothw';
const ATTACHED = 'bothw-fg';
const MISSING = 'bothw-missing';

/** The script both ways run, in order; `json` steps print JSON, compared as data. */
const SCRIPT = [
  { step: 'run -d', argv: ['run', '-d', '--name', NAME, '--memory', '32m', 'busybox', '--', 'sh', '-c', 'echo started; exec sleep 3600'] },
  { step: 'run (attached)', argv: ['run', '--name', ATTACHED, 'busybox', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7'] },
  { step: 'ps', argv: ['ps'] },
  { step: 'ps --json', argv: ['ps', '--json'], json: true },
  { step: 'exec: exit 3', argv: ['exec', NAME, '--', 'sh', '-c', 'exit 3'] },
  { step: 'exec: output', argv: ['exec', NAME, '--', 'sh', '-c', 'echo to-out; echo to-err >&2'] },
  { step: 'exec: OOM-killed', argv: ['exec', NAME, '--', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=100M', 'count=1'] },
  // Its exit comes a second after its output has closed: only the exit watcher is left waiting.
  { step: 'exec: output closed first', argv: ['exec', NAME, '--', 'sh', '-c', 'exec >&- 2>&-; sleep 1; exit 4'] },
  { step: 'inspect --json', argv: ['inspect', NAME, '--json'], json: true },
  { step: 'logs', argv: ['logs', NAME] },
  { step: 'logs (attached run)', argv: ['logs', ATTACHED] },
  { step: 'stop', argv: ['stop', '-t', '1', NAME] },
  { step: 'ps -a --json (after stop)', argv: ['ps', '-a', '--json'], json: true },
  { step: 'rm', argv: ['rm', NAME, ATTACHED] },
  { step: 'inspect (missing)', argv: ['inspect', MISSING] },
  { step: 'exec (missing)', argv: ['exec', MISSING, '--', 'true'] },
  { step: 'stop (missing)', argv: ['stop', MISSING] },
] as const satisfies readonly { step: string; argv: readonly string[]; json?: boolean }[];

type Step = (typeof SCRIPT)[number]['step'];

/** One way's answers, and what the kernel showed meanwhile. */
interface Played {
  results: Map<Step, CliResult>;
  id: string;
  attachedId: string;
  pid: number;
  /** The container's first process's parent: the service, or whoever adopted it from a CLI. */
  parentPid: number;
  oomKills: { before: number; after: number };
  aliveAfterOom: boolean;
  goneAfterStop: boolean;
}

let work: string;
let bundle: string;
let stateRoot: string;
let releaseNetwork: () => { bridgeGone: boolean };
let service: RunningService | null = null;
let serviceSocket: string;
/** No agent ever listens here: the CLI runs standalone. */
let absentSocket: string;
let standalone: Played;
let throughService: Played;
const made: { id: string; pid: number | null }[] = [];

function cli(socket: string, argv: readonly string[]): Promise<CliResult> {
  return runCliProcess(bundle, ['--root', stateRoot, '--socket', socket, ...argv], CLI_TIMEOUT_MS);
}

/** The kernel's count of OOM kills in the container's memory cgroup (v1 or v2), read without the agent. */
function oomKillCount(id: string): number {
  for (const dir of cgroupDirsNamed(id)) {
    for (const file of ['memory.oom_control', 'memory.events']) {
      const path = join(dir, file);
      if (!existsSync(path)) continue;
      const line = readFileSync(path, 'utf8').split('\n').find((entry) => entry.startsWith('oom_kill '));
      if (line) return Number(line.split(' ')[1]);
    }
  }
  throw new Error(`no memory cgroup with an oom_kill count for ${id}`);
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function play(socket: string): Promise<Played> {
  const results = new Map<Step, CliResult>();
  let id = '';
  let pid = 0;
  let parentPid = 0;
  const oomKills = { before: -1, after: -1 };
  let aliveAfterOom = false;
  let goneAfterStop = false;
  for (const { step, argv } of SCRIPT) {
    if (step === 'exec: OOM-killed') oomKills.before = oomKillCount(id);
    const result = await cli(socket, argv);
    results.set(step, result);
    if (step === 'run -d') {
      id = result.stdout.trim();
      const listed = JSON.parse((await cli(socket, ['inspect', NAME, '--json'])).stdout) as { pid: number };
      pid = listed.pid;
      parentPid = parentOf(pid);
      made.push({ id, pid });
    }
    if (step === 'exec: OOM-killed') {
      oomKills.after = oomKillCount(id);
      aliveAfterOom = processExists(pid);
    }
    if (step === 'stop') goneAfterStop = !processExists(pid);
  }
  const all = JSON.parse(results.get('ps -a --json (after stop)')!.stdout) as { id: string; name: string }[];
  const attachedId = all.find((summary) => summary.name === ATTACHED)?.id ?? '';
  made.push({ id: attachedId, pid: null });
  return { results, id, attachedId, pid, parentPid, oomKills, aliveAfterOom, goneAfterStop };
}

// --- normalising what legitimately differs ------------------------------------------------------

/** Values that differ from one container to the next whoever made it. */
const VOLATILE_KEYS = new Set([
  'pid', 'ppid', 'createdAt', 'startedAt', 'finishedAt', 'mac', 'mountId', 'parentId',
  'memoryCurrentBytes', 'memoryPeakBytes', 'cpuUsageNs',
  // ids of the BPF device programs the kernel gave each container's cgroup
  'programs',
]);

function normaliseText(text: string, played: Played): string {
  const ids = [played.id, played.attachedId].filter((id) => id !== '');
  return text
    .replace(/[0-9a-f]{11,64}/g, (hex) => (ids.some((id) => id.startsWith(hex)) ? '<ID>' : hex))
    .replace(/\d+/g, (digits) => (Number(digits) === played.pid ? '<PID>' : digits))
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<TIME>')
    .replace(/just now|\d+ \w+ ago/g, '<AGO>')
    // a table's columns are as wide as their widest value
    .replace(/ {2,}/g, '  ');
}

function normaliseJson(value: unknown, played: Played, key = ''): unknown {
  if (VOLATILE_KEYS.has(key) && value !== null) return '<VOLATILE>';
  if (typeof value === 'string') return normaliseText(value, played);
  if (Array.isArray(value)) return value.map((item) => normaliseJson(item, played));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    // {type: inode}: every container has namespaces of its own
    if (key === 'namespaces') return Object.fromEntries(entries.map(([type]) => [type, '<INODE>']));
    return Object.fromEntries(entries.map(([name, item]) => [name, normaliseJson(item, played, name)]));
  }
  return value;
}

function normalised(played: Played, step: Step): CliResult {
  const result = played.results.get(step)!;
  const json = SCRIPT.find((entry) => entry.step === step)!;
  let stdout = normaliseText(result.stdout, played);
  if ('json' in json && json.json && result.code === 0) {
    stdout = JSON.stringify(normaliseJson(JSON.parse(result.stdout) as unknown, played), null, 2);
  }
  return { code: result.code, stdout, stderr: normaliseText(result.stderr, played) };
}

// ------------------------------------------------------------------------------------------------

beforeAll(async () => {
  work = mkdtempSync('/tmp/cl-bothw-');
  stateRoot = join(work, 'state');
  mkdirSync(join(work, 'run'), { mode: 0o700 });
  serviceSocket = join(work, 'run', 'agent.sock');
  absentSocket = join(work, 'run', 'no-agent.sock');
  releaseNetwork = useOwnDefaultNetwork(BRIDGE, SUBNET);
  ensureBuilt();
  bundle = AGENT_BUNDLE;

  standalone = await play(absentSocket);
  service = await startService(stateRoot, serviceSocket);
  throughService = await play(serviceSocket);
  await stopService(service);
}, 180_000);

afterAll(async () => {
  if (service) await stopService(service);
  // A failed step may have left containers: the standalone CLI removes whatever the root holds.
  if (bundle && existsSync(bundle) && existsSync(stateRoot)) {
    const listed = await cli(absentSocket, ['ps', '-a', '--json']);
    const left = listed.code === 0 ? (JSON.parse(listed.stdout) as { id: string; pid: number | null }[]) : [];
    made.push(...left.map((summary) => ({ id: summary.id, pid: summary.pid })));
    if (left.length > 0) await cli(absentSocket, ['rm', '-f', ...left.map((summary) => summary.id)]);
  }
  const { bridgeGone } = releaseNetwork();
  expect(leftovers(stateRoot, made.filter((container) => container.id !== ''))).toEqual(NONE_LEFT);
  expect(bridgeGone).toBe(true);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('standalone and through the service', () => {
  it('really are the two ways: the service is the parent of its containers; standalone, no agent was there to ask', () => {
    expect(throughService.parentPid).toBe(service!.process.pid);
    expect(existsSync(absentSocket)).toBe(false);
    expect(standalone.parentPid).not.toBe(service!.process.pid);
    expect(standalone.parentPid).not.toBe(process.pid);
  });

  it.each(SCRIPT.map(({ step }) => step))('%s: the same exit status, stdout and stderr', (step) => {
    expect(normalised(standalone, step)).toEqual(normalised(throughService, step));
  });
});

describe.each([
  ['standalone', (): Played => standalone],
  ['through the service', (): Played => throughService],
] as const)('%s', (_way, played) => {
  it('exec exits with its program\'s status and prints its output', () => {
    const results = played().results;
    expect(results.get('exec: exit 3')).toEqual({ code: 3, stdout: '', stderr: '' });
    expect(results.get('exec: output')).toEqual({ code: 0, stdout: 'to-out\n', stderr: 'to-err\n' });
    expect(results.get('exec: output closed first')).toEqual({ code: 4, stdout: '', stderr: '' });
  });

  it('exec of a dd the memory limit OOM-kills exits 137; the kernel counted the kill, the container runs on', () => {
    const { results, oomKills, aliveAfterOom } = played();
    expect(results.get('exec: OOM-killed')!.code).toBe(137);
    expect(oomKills.after).toBeGreaterThan(oomKills.before);
    expect(aliveAfterOom).toBe(true);
  });

  it('run -d prints the id; an attached run prints the output and exits with the container\'s status', () => {
    const { results, id } = played();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(results.get('run -d')).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
    expect(results.get('run (attached)')).toEqual({ code: 7, stdout: 'out\nerr\n', stderr: '' });
    expect(results.get('logs')!.stdout).toBe('started\n');
  });

  it('inspect --json is the record of the running container, with the OOM kill in its usage', () => {
    const { results, id } = played();
    const record = JSON.parse(results.get('inspect --json')!.stdout) as { id: string; status: string; cgroup: { usage: { oomKills: number } } };
    expect(record.id).toBe(id);
    expect(record.status).toBe('running');
    expect(record.cgroup.usage.oomKills).toBe(1);
  });

  it('stop ends the container with 137 (its sleep ignores SIGTERM) and rm removes both', () => {
    const { results, goneAfterStop } = played();
    expect(results.get('stop')).toEqual({ code: 0, stdout: `${NAME}\n`, stderr: '' });
    expect(goneAfterStop).toBe(true);
    // Standalone, the CLI that stops it is not its parent: the kernel's process events tell it how it ended.
    const after = JSON.parse(results.get('ps -a --json (after stop)')!.stdout) as { name: string; exitCode: number | null }[];
    expect(Object.fromEntries(after.map((summary) => [summary.name, summary.exitCode]))).toEqual({ [NAME]: 137, [ATTACHED]: 7 });
    expect(results.get('rm')).toEqual({ code: 0, stdout: `${NAME}\n${ATTACHED}\n`, stderr: '' });
  });

  it('a missing container is one line on stderr, nothing on stdout, exit 1', () => {
    for (const step of ['inspect (missing)', 'exec (missing)', 'stop (missing)'] as const) {
      const result = played().results.get(step)!;
      expect(result.code, step).toBe(1);
      expect(result.stdout, step).toBe('');
      expect(result.stderr, step).toMatch(new RegExp(`^containers-lab: [^\\n]*"${MISSING}"[^\\n]*\\n$`));
    }
  });
});

describe('exec at a keyboard', () => {
  it('-t without -i says once that keystrokes are not forwarded; -it does not', async () => {
    // A real terminal for the CLI's stdin and stdout: util-linux `script` runs it on a pty.
    const atKeyboard = (argv: string[]): string => {
      const line = [process.execPath, bundle, '--root', stateRoot, '--socket', absentSocket, ...argv].map((word) => `'${word}'`).join(' ');
      const result = spawnSync('script', ['-qec', line, '/dev/null'], { encoding: 'utf8', input: '' });
      expect(result.status, `${argv.join(' ')}: ${result.stdout}${result.stderr}`).toBe(0);
      return result.stdout;
    };
    await cli(absentSocket, ['run', '-d', '--name', 'bothw-tty', 'busybox', '--', 'sleep', '60']);
    made.push({ id: JSON.parse((await cli(absentSocket, ['inspect', 'bothw-tty', '--json'])).stdout).id as string, pid: null });
    try {
      expect(atKeyboard(['exec', '-t', 'bothw-tty', '--', 'true'])).toContain('-t without -i: the command gets a terminal but not your keystrokes (use -it for an interactive shell)');
      expect(atKeyboard(['exec', '-it', 'bothw-tty', '--', 'true'])).not.toContain('without -i');
    } finally {
      await cli(absentSocket, ['rm', '-f', 'bothw-tty']);
    }
  });
});

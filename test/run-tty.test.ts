/*
 * `run -dit busybox` (RunOptions.tty): PID 1 is a plain `sh` on a terminal the agent made and a
 * keeper holds open — checked against the kernel: the descriptors and controlling tty of the
 * process (/proc/<pid>/fd, /proc/<pid>/stat), the keeper process and its descriptors, the log,
 * how long `stop` takes, and that the terminal outlives the runtime that made it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { openRuntime } from '../agent/runtime/runtime';
import type { ContainerRuntime } from '../agent/runtime/api';
import type { ContainerRecord, RunOptions } from '../agent/protocol';
import { removeBridge } from '../agent/runtime/network';
import { execCollect } from './helpers/exec';
import { leftovers, NONE_LEFT, processExists } from './helpers/kernel-witness';
import { AGENT_BUNDLE, ensureBuilt } from './helpers/service';
import { waitFor } from './helpers/wait';

const BRIDGE = 'cltty0';
const SUBNET = '10.77.165.0/24';
const PTS_MAJOR = 136;
let stateRoot: string;
let runtime: ContainerRuntime;
const made: ContainerRecord[] = [];

async function run(options: RunOptions): Promise<ContainerRecord> {
  const bridged = options.net === undefined || options.net === 'bridge';
  const record = await runtime.run(bridged ? { bridge: BRIDGE, subnet: SUBNET, ...options } : options);
  made.push(record);
  return record;
}

/** Fields of /proc/<pid>/stat after the command name: [0] state, [3] session, [4] tty_nr. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

/** The keeper of a container's terminal: the process whose stdout is the container's log. */
function keeperOf(record: ContainerRecord): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/fd/1`) === record.logPath && readlinkSync(`/proc/${entry}/fd/0`).endsWith('ptmx')) return Number(entry);
    } catch {
      // gone, or not ours to read
    }
  }
  return null;
}

function deviceNumbers(rdev: number): { major: number; minor: number } {
  return { major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
}

beforeAll(() => {
  stateRoot = mkdtempSync('/tmp/cl-run-tty-test-');
  runtime = openRuntime({ stateRoot });
});

afterAll(async () => {
  for (const record of runtime.list()) await runtime.remove(record.id, true);
  for (const record of made) {
    const keeper = await waitFor(() => keeperOf(record), (pid) => pid === null, 5_000);
    expect(keeper, `keeper of ${record.name}`).toBeNull();
  }
  removeBridge(BRIDGE, stateRoot);
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  runtime.close();
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('a container run with a terminal and no command', () => {
  let record: ContainerRecord;
  beforeAll(async () => {
    record = await run({ name: 'box', hostname: 'box', memory: '64m', tty: true });
  });

  test('PID 1 is a plain sh, and config.json says so: process.terminal true, args ["sh"]', () => {
    expect(cmdline(record.pid!)).toEqual(['sh']);
    const config = JSON.parse(readFileSync(`${stateRoot}/containers/${record.id}/config.json`, 'utf8'));
    expect(config.process.terminal).toBe(true);
    expect(config.process.args).toEqual(['sh']);
  });

  test('its stdin, stdout and stderr are one pseudo-terminal, /dev/pts/0 of its own devpts, and its controlling tty', async () => {
    const pid = record.pid!;
    const devices = [0, 1, 2].map((fd) => statSync(`/proc/${pid}/fd/${fd}`).rdev);
    expect(new Set(devices).size).toBe(1);
    expect(deviceNumbers(devices[0]!)).toEqual({ major: PTS_MAJOR, minor: 0 });
    const [, , , session, ttyNr] = statFields(pid);
    expect(Number(session)).toBe(pid); // a session leader…
    expect(Number(ttyNr)).toBe(devices[0]); // …whose controlling terminal is that one
    const links = await execCollect(runtime, 'box', ['sh', '-c', 'readlink /proc/1/fd/0; readlink /proc/1/fd/2']);
    expect(links.stdout.split('\n').filter(Boolean), links.stderr).toEqual(['/dev/pts/0', '/dev/pts/0']);
    // an exec -t session gets the next terminal of the same devpts
    expect((await execCollect(runtime, 'box', ['tty'], { tty: true })).stdout.trim()).toBe('/dev/pts/1');
  });

  test('the shell waits on its terminal instead of exiting; what it shows lands in the log', async () => {
    const log = await waitFor(() => runtime.logs(record.id).toString(), (text) => text.includes('# '), 5_000);
    // ash's banner and prompt (and its query for the cursor position, which nobody answers: as under docker run -dit)
    expect(log).toContain('built-in shell (ash)');
    expect(log).toContain('/ # ');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(runtime.inspect(record.id).status).toBe('running');
    expect(statFields(record.pid!)[0]).toBe('S'); // asleep in read(2) on the terminal
  });

  test('a keeper on the host holds the other end: `cat` with only the multiplexer and the log, in a session of its own; the agent holds neither end', () => {
    const keeper = keeperOf(record);
    expect(keeper).not.toBeNull();
    expect(cmdline(keeper!)).toEqual(['cat']);
    expect(readdirSync(`/proc/${keeper}/fd`).sort()).toEqual(['0', '1', '2']);
    expect(readlinkSync(`/proc/${keeper}/fd/2`)).toBe('/dev/null');
    expect(Number(statFields(keeper!)[3])).toBe(keeper); // setsid: signals to the agent's group or terminal miss it
    const agentTerminals = readdirSync('/proc/self/fd').map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    }).filter((link) => link.includes('/dev/pts/') || link.endsWith('ptmx'));
    expect(agentTerminals).toEqual([]);
  });

  test('the terminal outlives the runtime that made it: a new one finds the shell still running', async () => {
    runtime.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(processExists(record.pid!)).toBe(true);
    runtime = openRuntime({ stateRoot });
    expect(runtime.inspect(record.id).status).toBe('running');
    expect((await execCollect(runtime, 'box', ['echo', 'still here'])).stdout.trim()).toBe('still here');
  });

  test('stop does not wait ten seconds for a shell that ignores SIGTERM: it is killed at once (137), and the keeper ends', async () => {
    const pid = record.pid!;
    const ignored = BigInt(`0x${/^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]}`);
    expect((ignored >> 14n) & 1n).toBe(1n); // SIGTERM (15): an interactive shell ignores it
    const keeper = keeperOf(record)!;
    const started = performance.now();
    const stopped = await runtime.stop(record.id);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(stopped.status).toBe('stopped');
    expect(stopped.exitCode).toBe(137);
    expect(await waitFor(() => processExists(keeper), (alive) => !alive, 5_000)).toBe(false);
  });
});

describe('terminals in other shapes', () => {
  test('in a user namespace the terminal belongs to the container\'s root (a mapped host uid)', async () => {
    const record = await run({ name: 'tenant', tty: true, userns: true, net: 'none' });
    expect(cmdline(record.pid!)).toEqual(['sh']);
    const owner = statSync(`/proc/${record.pid}/fd/0`).uid;
    expect(owner).not.toBe(0);
    expect(readFileSync(`/proc/${record.pid}/uid_map`, 'utf8')).toMatch(new RegExp(`^\\s*0\\s+${owner}\\s`));
    expect((await execCollect(runtime, 'tenant', ['stat', '-c', '%u', '/dev/pts/0'])).stdout.trim()).toBe('0');
    await runtime.remove(record.id, true);
  });

  test('with a command of the learner\'s: that command is PID 1, on the terminal', async () => {
    const record = await run({ name: 'topper', tty: true, args: ['top'], net: 'none' });
    expect(cmdline(record.pid!)).toEqual(['top']);
    // top needs a terminal to draw on: its screen reaches the log
    expect(await waitFor(() => runtime.logs(record.id).toString(), (text) => text.includes('PID'), 5_000)).toContain('PID');
    await runtime.remove(record.id, true);
  });

  test('sharing the host\'s mounts: the terminal comes from the host\'s /dev/pts', async () => {
    const record = await run({ name: 'hostfs', tty: true, namespaces: ['pid', 'uts', 'ipc', 'net'], net: 'none' });
    const terminal = statSync(`/proc/${record.pid}/fd/0`);
    expect(deviceNumbers(terminal.rdev).major).toBe(PTS_MAJOR);
    expect(terminal.dev).toBe(statSync('/dev/pts/ptmx').dev);
    expect(Number(statFields(record.pid!)[4])).toBe(terminal.rdev);
    const started = performance.now();
    expect((await runtime.stop(record.id)).status).toBe('stopped');
    expect(performance.now() - started).toBeLessThan(2_000);
    await runtime.remove(record.id);
  });

  test('created only: the process holds its terminal while it waits for start; remove ends keeper and all', async () => {
    const record = await run({ name: 'later', tty: true, createOnly: true, net: 'none' });
    expect(deviceNumbers(statSync(`/proc/${record.pid}/fd/0`).rdev).major).toBe(PTS_MAJOR);
    const keeper = keeperOf(record);
    expect(keeper).not.toBeNull();
    await runtime.remove(record.id, true);
    expect(await waitFor(() => processExists(keeper!), (alive) => !alive, 5_000)).toBe(false);
  });
});

describe('containers-lab run -dit busybox, standalone: the CLI process that made the container exits', () => {
  let cliRoot: string;
  const cli = (...argv: string[]) => spawnSync(process.execPath, [AGENT_BUNDLE, '--root', cliRoot, '--socket', `${cliRoot}/no-agent.sock`, ...argv], { encoding: 'utf8', timeout: 60_000 });
  beforeAll(() => {
    ensureBuilt();
    cliRoot = mkdtempSync('/tmp/cl-run-tty-cli-');
  });
  afterAll(() => {
    cli('rm', '-f', 'clibox');
    rmSync(cliRoot, { recursive: true, force: true });
  });

  test('the shell keeps its terminal after the agent is gone; a later CLI stops it at once', async () => {
    const run = cli('run', '-dit', '--name', 'clibox', '--net', 'none', 'busybox');
    expect(run.status, run.stderr).toBe(0);
    const record = JSON.parse(cli('inspect', '--json', 'clibox').stdout) as ContainerRecord;
    made.push(record);
    expect(cmdline(record.pid!)).toEqual(['sh']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(processExists(record.pid!)).toBe(true);
    const keeper = keeperOf(record)!;
    expect(keeper).not.toBeNull();
    const started = performance.now();
    const stop = cli('stop', 'clibox');
    expect(stop.status, stop.stderr).toBe(0);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await waitFor(() => processExists(keeper), (alive) => !alive, 5_000)).toBe(false);
  });

  test('-i needs -t, and -t needs -d: each a usage error that says what to type instead', () => {
    const lonelyI = cli('run', '-di', 'busybox');
    expect(lonelyI.status).toBe(2);
    expect(lonelyI.stderr).toContain("-i needs -t here: a container's only input is its terminal (run -dit busybox)");
    const attached = cli('run', '-it', 'busybox');
    expect(attached.status).toBe(2);
    expect(attached.stderr).toContain('run: -t needs -d');
  });
});

/*
 * The uploaded agent runs as root, so what runs must be what the extension carries. Against REAL
 * parts, as test/ssh-connection.test.ts: Debian's sshd on 127.0.0.1 with keys made here, the real
 * agent bootstrapped over SSH into a temporary install root, temporary state root and socket.
 *
 * The files on disk are tampered with the way a process of the SSH user could — a changed
 * containers-lab.js, an added module, a file swapped for a symlink, loosened permissions — and
 * the next connect must notice (sha256 of every file, computed on the host), upload again, stop
 * what was running from the replaced files, and run the verified copy. Witnesses: the files'
 * bytes and modes on disk, a marker file the tampered agent would write, the agent's PID file and
 * /proc/<pid>/cmdline.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonFileHostKeyStore } from '../extension/connection/host-keys';
import { ReconnectingLabConnection } from '../extension/connection/lab-connection';
import type { LabTarget } from '../extension/connection/types';
import { makeKey, startSshd } from './helpers/sshd';
import type { TestSshd } from './helpers/sshd';

const repo = resolve(__dirname, '..');
const bundleDir = join(repo, 'dist', 'agent');
const bundleMain = join(bundleDir, 'containers-lab.js');

describe('the uploaded agent is verified before it runs as root', () => {
  let work: string;
  let sshd: TestSshd;
  let installRoot: string;
  let stateRoot: string;
  let socketPath: string;
  let marker: string;
  const connections: ReconnectingLabConnection[] = [];

  const target = (): LabTarget => ({ kind: 'settings', label: `root@127.0.0.1:${sshd.port}`, host: '127.0.0.1', port: sshd.port, username: 'root', privateKeyPath: sshd.clientKey });

  /** Connects anew (a new window, or the next VS Code start) and returns the connection and its log. */
  async function connect(): Promise<{ connection: ReconnectingLabConnection; logs: string[] }> {
    const connection = new ReconnectingLabConnection({
      bundleDir,
      hostKeys: new JsonFileHostKeyStore(join(work, 'pins.json')),
      promptHostKey: async () => true,
      remote: { installRoot, socketPath, stateRoot, service: 'background' },
      reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
    });
    const logs: string[] = [];
    connection.on('log', (line) => logs.push(line));
    connections.push(connection);
    await connection.connect(target());
    return { connection, logs };
  }

  const agentPid = (): number => Number(readFileSync(join(installRoot, 'agent.pid'), 'utf8').trim());
  const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const commandLine = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

  async function stopAgent(): Promise<void> {
    const pid = agentPid();
    if (!alive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }

  /** Every directory (the install root included) and file below the install root, with its mode. */
  function modes(): { path: string; directory: boolean; mode: number }[] {
    const found: { path: string; directory: boolean; mode: number }[] = [];
    const walk = (path: string): void => {
      const stats = statSync(path);
      found.push({ path, directory: stats.isDirectory(), mode: stats.mode & 0o777 });
      if (stats.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
    };
    walk(installRoot);
    return found;
  }

  beforeAll(async () => {
    if (!existsSync(bundleMain)) {
      const built = spawnSync('node', [join(repo, 'build.mjs')], { stdio: 'inherit', cwd: repo });
      if (built.status !== 0) throw new Error('building the agent failed');
    }
    work = mkdtempSync(join(tmpdir(), 'upload-integrity-'));
    installRoot = join(work, 'home', '.containers-lab', 'agent');
    stateRoot = join(work, 'state');
    socketPath = join(work, 'run', 'agent.sock');
    marker = join(work, 'tampered-agent-ran');
    makeKey(join(work, 'host_key'));
    sshd = await startSshd(work, join(work, 'host_key'));
  });

  afterAll(async () => {
    for (const connection of connections) await connection.disconnect();
    if (installRoot && existsSync(join(installRoot, 'agent.pid'))) await stopAgent();
    await sshd?.stop();
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mountinfo.includes(work)).toBe(false);
    rmSync(work, { recursive: true, force: true });
  });

  it('uploads into 0700 directories, no file writable by group or others, and runs it', async () => {
    const { connection } = await connect();
    const remote = connection.remoteAgent!;
    expect(remote.uploaded).toBe(true);
    expect(remote.replaced).toBe(false);
    const entries = modes();
    expect(entries.filter((entry) => entry.directory && entry.mode !== 0o700)).toEqual([]);
    expect(entries.filter((entry) => !entry.directory && (entry.mode & 0o022) !== 0)).toEqual([]);
    expect(commandLine(agentPid())).toContain(remote.agentPath);
    await connection.disconnect();
  });

  it('tightens a 0755 directory to 0700 and a world-writable file, without uploading again', async () => {
    const build = readdirSync(installRoot).find((name) => existsSync(join(installRoot, name, 'containers-lab.js')))!;
    const installDir = join(installRoot, build);
    chmodSync(installRoot, 0o755);
    chmodSync(installDir, 0o755);
    chmodSync(join(installDir, 'node_modules'), 0o755);
    chmodSync(join(installDir, 'package.json'), 0o666);
    const { connection } = await connect();
    expect(connection.remoteAgent!.uploaded).toBe(false);
    for (const directory of [installRoot, installDir, join(installDir, 'node_modules')]) expect(statSync(directory).mode & 0o777).toBe(0o700);
    expect(statSync(join(installDir, 'package.json')).mode & 0o022).toBe(0);
    await connection.disconnect();
  });

  it('a changed containers-lab.js is uploaded again before anything runs it: the verified agent answers', async () => {
    await stopAgent();
    const installDir = join(installRoot, readdirSync(installRoot).find((name) => existsSync(join(installRoot, name, 'containers-lab.js')))!);
    // What a hostile process of the SSH user would leave for root to run.
    writeFileSync(join(installDir, 'containers-lab.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran as root');\n`);
    const { connection, logs } = await connect();
    const remote = connection.remoteAgent!;
    expect(logs.some((line) => line.includes('do not match') && line.includes('containers-lab.js differs'))).toBe(true);
    expect(remote.uploaded).toBe(true);
    expect(remote.replaced).toBe(true);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(remote.agentPath).equals(readFileSync(bundleMain))).toBe(true);
    expect(commandLine(agentPid())).toContain(remote.agentPath);
    expect((await connection.client!.call('agent.info', {})).stateRoot).toBe(stateRoot);
    expect(readdirSync(installRoot).filter((name) => name.includes('.partial') || name.includes('.stale'))).toEqual([]);
    await connection.disconnect();
  });

  it('an added module while the agent runs: uploaded again, the running agent stopped and started from the verified copy', async () => {
    const before = agentPid();
    expect(alive(before)).toBe(true);
    const installDir = join(installRoot, readdirSync(installRoot).find((name) => existsSync(join(installRoot, name, 'containers-lab.js')))!);
    const added = join(installDir, 'node_modules', 'koffi', 'preload.js');
    writeFileSync(added, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran as root');\n`);
    const { connection, logs } = await connect();
    expect(logs.some((line) => line.includes('not part of this build'))).toBe(true);
    expect(connection.remoteAgent!.replaced).toBe(true);
    expect(existsSync(added)).toBe(false);
    expect(alive(before)).toBe(false);
    const after = agentPid();
    expect(after).not.toBe(before);
    expect(commandLine(after)).toContain(connection.remoteAgent!.agentPath);
    expect(existsSync(marker)).toBe(false);
    await connection.disconnect();
  });

  it('a file swapped for a symlink (even to identical bytes) is not trusted', async () => {
    await stopAgent();
    const installDir = join(installRoot, readdirSync(installRoot).find((name) => existsSync(join(installRoot, name, 'containers-lab.js')))!);
    const elsewhere = join(work, 'package-copy.json');
    copyFileSync(join(installDir, 'package.json'), elsewhere);
    unlinkSync(join(installDir, 'package.json'));
    symlinkSync(elsewhere, join(installDir, 'package.json'));
    const { connection, logs } = await connect();
    expect(logs.some((line) => line.includes('package.json is not a plain file'))).toBe(true);
    expect(connection.remoteAgent!.replaced).toBe(true);
    expect(lstatSync(join(installDir, 'package.json')).isFile()).toBe(true);
    expect(readdirSync(installDir)).toContain('package.json');
    expect(spawnSync('find', [installDir, '-type', 'l']).stdout.toString()).toBe('');
    await connection.disconnect();
  });
});

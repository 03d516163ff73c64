/*
 * The extension's connection layer against REAL parts: Debian's sshd on 127.0.0.1 (throwaway keys
 * and config, test/helpers/sshd.ts) and the REAL agent, bootstrapped from scratch over SSH into a
 * temporary install root, serving a temporary state root and socket (never /var/lib or /run).
 *
 * Witnesses that do not go through our code: `ssh-keygen -l` for fingerprints, the uploaded files
 * on disk, the agent's PID file and /proc/<pid>/cmdline, /proc/<pid>/ns/* for namespaces, the
 * listening sshd's children in /proc for killing a connection.
 *
 * Containers use --net none and names starting "sshconn-"; everything is removed at the end:
 * containers (through a direct socket client), the agent and sshd (by PID), temporary dirs (after
 * checking nothing under them is still mounted).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generalHelp, main } from '../agent/cli/main';
import type { ContainerRecord } from '../agent/protocol';
import { connectAgent } from '../agent/service/client';
import { bundleSupportsArch, checkHostCanRunAgent, NODE_FIX } from '../extension/connection/bootstrap';
import type { HostFacts } from '../extension/connection/bootstrap';
import { HostKeyChangedError, JsonFileHostKeyStore, sha256Fingerprint } from '../extension/connection/host-keys';
import { ReconnectingLabConnection } from '../extension/connection/lab-connection';
import type { LabConnectionOptions } from '../extension/connection/lab-connection';
import { localTarget, parseSshConfig, parseVagrantSshConfig, settingsTarget, vagrantTargets } from '../extension/connection/targets';
import type { ConnectionState, LabTarget } from '../extension/connection/types';
import { nsInode } from './helpers/kernel-witness';
import { makeKey, opensshFingerprint, startSshd } from './helpers/sshd';
import type { TestSshd } from './helpers/sshd';

const repo = resolve(__dirname, '..');
const bundleDir = join(repo, 'dist', 'agent');
const bundleMain = join(bundleDir, 'containers-lab.js');

/** The bundle must know `dial-stdio`; an older build (or none) is rebuilt once. */
function ensureFreshBundle(): void {
  if (existsSync(bundleMain) && readFileSync(bundleMain, 'utf8').includes('dial-stdio')) return;
  const result = spawnSync('node', [join(repo, 'build.mjs')], { stdio: 'inherit', cwd: repo });
  if (result.status !== 0) throw new Error('building the agent failed');
}

// --- unit tests: targets --------------------------------------------------------------------------

const VAGRANT_SAMPLE = `Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile "/home/ann/lab vm/.vagrant/machines/default/libvirt/private_key"
  IdentitiesOnly yes
  LogLevel FATAL

Host worker
  HostName 127.0.0.1
  User vagrant
  Port 2200
  IdentityFile /home/ann/lab/.vagrant/machines/worker/libvirt/private_key
`;

describe('targets', () => {
  it('parses vagrant ssh-config output, one target per machine, quoted paths kept whole', () => {
    expect(parseVagrantSshConfig(VAGRANT_SAMPLE)).toEqual([
      { kind: 'vagrant', label: 'lab VM (vagrant: default)', host: '127.0.0.1', port: 2222, username: 'vagrant', privateKeyPath: '/home/ann/lab vm/.vagrant/machines/default/libvirt/private_key' },
      { kind: 'vagrant', label: 'lab VM (vagrant: worker)', host: '127.0.0.1', port: 2200, username: 'vagrant', privateKeyPath: '/home/ann/lab/.vagrant/machines/worker/libvirt/private_key' },
    ]);
  });

  it('parses ~/.ssh/config like OpenSSH: wildcards skipped but applied, first value wins, Match ignored', () => {
    const text = `# lab hosts
Host lab lab-alias
    HostName 192.0.2.10
    User=root
    IdentityFile ~/.ssh/lab_key

Host *.internal !bad.internal
    User ops
    Port 2022

Host db.internal
    HostName %h.example

Match host lab
    Port 9999

Host *
    User nobody
    IdentityFile ~/.ssh/id_default
`;
    const targets = parseSshConfig(text, { home: '/home/ann' });
    expect(targets).toEqual([
      { kind: 'ssh-config', label: 'lab (~/.ssh/config)', host: '192.0.2.10', username: 'root', privateKeyPath: '/home/ann/.ssh/lab_key' },
      { kind: 'ssh-config', label: 'lab-alias (~/.ssh/config)', host: '192.0.2.10', username: 'root', privateKeyPath: '/home/ann/.ssh/lab_key' },
      { kind: 'ssh-config', label: 'db.internal (~/.ssh/config)', host: 'db.internal.example', port: 2022, username: 'ops', privateKeyPath: '/home/ann/.ssh/id_default' },
    ]);
  });

  it('makes the settings target, and none without a host', () => {
    expect(settingsTarget({ host: ' ', port: 22 })).toBeNull();
    expect(settingsTarget({ host: '127.0.0.1', port: 2222, username: 'root', privateKeyPath: '~/k' }, '/home/ann')).toEqual({
      kind: 'settings', label: 'root@127.0.0.1:2222', host: '127.0.0.1', port: 2222, username: 'root', privateKeyPath: '/home/ann/k',
    });
  });

  describe('running vagrant', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sshconn-vagrant-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const fakeVagrant = (name: string, body: string): string => {
      const path = join(dir, name);
      writeFileSync(path, `#!/bin/sh\n${body}\n`);
      chmodSync(path, 0o755);
      return path;
    };

    it('says clearly that Vagrant is absent', async () => {
      await expect(vagrantTargets(dir, { vagrantBin: join(dir, 'no-such-vagrant') })).rejects.toThrow(/Vagrant is not installed/);
    });

    it('runs `vagrant ssh-config` in the vm folder and parses what it prints', async () => {
      writeFileSync(join(dir, 'sample'), VAGRANT_SAMPLE);
      // The fake checks it was run in the folder and with the right verb, like the real one must be.
      const bin = fakeVagrant('vagrant-ok', `[ "$1" = ssh-config ] && [ "$(pwd)" = "${dir}" ] && exec cat sample; exit 3`);
      const targets = await vagrantTargets(dir, { vagrantBin: bin });
      expect(targets.map((target) => target.label)).toEqual(['lab VM (vagrant: default)', 'lab VM (vagrant: worker)']);
    });

    it('reports vagrant failing (VM not created) with its own last line', async () => {
      const bin = fakeVagrant('vagrant-down', 'echo "The VM is not created. Run vagrant up first." >&2; exit 1');
      await expect(vagrantTargets(dir, { vagrantBin: bin })).rejects.toThrow(/failed in .*The VM is not created/);
    });

    it('gives up after its timeout', async () => {
      const bin = fakeVagrant('vagrant-hangs', 'exec sleep 30');
      await expect(vagrantTargets(dir, { vagrantBin: bin, timeoutMs: 300 })).rejects.toThrow(/no answer within/);
    });
  });
});

describe('host checks before bootstrap', () => {
  const facts = (overrides: Partial<HostFacts>): HostFacts => ({
    nodePath: '/usr/bin/node', nodeVersion: 'v20.1.0', machine: 'x86_64', uid: 0, home: '/root', installed: false, systemd: false, ...overrides,
  });

  it('needs Node.js 18+ and says how to get it', () => {
    ensureFreshBundle();
    expect(() => checkHostCanRunAgent(facts({ nodePath: null, nodeVersion: null }), bundleDir)).toThrow(NODE_FIX);
    expect(() => checkHostCanRunAgent(facts({ nodeVersion: 'v16.20.0' }), bundleDir)).toThrow(/found v16.20.0/);
    expect(() => checkHostCanRunAgent(facts({}), bundleDir)).not.toThrow();
  });

  it("needs koffi's native module for the host's architecture in the bundle", () => {
    expect(() => checkHostCanRunAgent(facts({ machine: 'riscv64' }), bundleDir)).toThrow(/"riscv64" is not supported/);
    if (!bundleSupportsArch(bundleDir, 'arm64')) {
      expect(() => checkHostCanRunAgent(facts({ machine: 'aarch64' }), bundleDir)).toThrow(/no koffi native module for linux-arm64/);
    }
  });
});

describe('containers-lab dial-stdio', () => {
  it('is listed in the help and fails in one line when no agent answers', async () => {
    expect(generalHelp()).toMatch(/\n {2}dial-stdio +Pipe stdin\/stdout to the agent's Unix socket/);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let errors = '';
    stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const missing = join(tmpdir(), `sshconn-no-agent-${process.pid}.sock`);
    const code = await main(['dial-stdio', '--socket', missing], { stdin: new PassThrough(), stdout, stderr });
    expect(code).toBe(1);
    expect(errors).toBe(`containers-lab: cannot reach the agent at ${missing}: no agent answers there\n`);
  });
});

// --- against real sshd and a real agent -----------------------------------------------------------

describe('over real SSH to a real agent', () => {
  let work: string;
  let sshd: TestSshd;
  let installRoot: string;
  let stateRoot: string;
  let socketPath: string;
  let pinFile: string;
  const prompts: { target: LabTarget; fingerprint: string }[] = [];
  const connections: ReconnectingLabConnection[] = [];
  const createdNames: string[] = [];

  const target = (): LabTarget => ({ kind: 'settings', label: `root@127.0.0.1:${sshd.port}`, host: '127.0.0.1', port: sshd.port, username: 'root', privateKeyPath: sshd.clientKey });

  function newConnection(extra: Partial<LabConnectionOptions> = {}): { connection: ReconnectingLabConnection; states: ConnectionState[]; logs: string[] } {
    const connection = new ReconnectingLabConnection({
      bundleDir,
      hostKeys: new JsonFileHostKeyStore(pinFile),
      promptHostKey: async (asked, fingerprint) => {
        prompts.push({ target: asked, fingerprint });
        return true;
      },
      remote: { installRoot, socketPath, stateRoot, service: 'background' },
      reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
      ...extra,
    });
    const states: ConnectionState[] = [];
    const logs: string[] = [];
    connection.on('state', (state) => states.push(state));
    connection.on('log', (line) => logs.push(line));
    connections.push(connection);
    return { connection, states, logs };
  }

  function agentPid(): number {
    return Number(readFileSync(join(installRoot, 'agent.pid'), 'utf8').trim());
  }

  const waitFor = async (condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    }
  };

  beforeAll(async () => {
    ensureFreshBundle();
    work = mkdtempSync(join(tmpdir(), 'sshconn-'));
    installRoot = join(work, 'home', '.containers-lab', 'agent');
    stateRoot = join(work, 'state');
    socketPath = join(work, 'run', 'agent.sock');
    pinFile = join(work, 'pins.json');
    makeKey(join(work, 'host_key_a'));
    makeKey(join(work, 'host_key_b'));
    sshd = await startSshd(work, join(work, 'host_key_a'));
  });

  afterAll(async () => {
    for (const connection of connections) await connection.disconnect();
    // Containers first, through a direct client on the socket (nothing of our code under test).
    const direct = existsSync(socketPath) ? await connectAgent(socketPath).catch(() => null) : null;
    if (direct) {
      for (const summary of await direct.call('container.list', {})) {
        if (summary.name.startsWith('sshconn-')) await direct.call('container.remove', { id: summary.id, force: true });
      }
      direct.close();
    }
    if (existsSync(join(installRoot, 'agent.pid'))) {
      const pid = agentPid();
      try {
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + 10_000;
        while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      } catch {
        // Already gone.
      }
    }
    await sshd?.stop();
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    if (work && !mountinfo.includes(work)) rmSync(work, { recursive: true, force: true });
    expect(mountinfo.includes(work)).toBe(false);
  });

  it('bootstraps from scratch: prompts for the host key, pins it, uploads the agent and starts it', async () => {
    expect(existsSync(installRoot)).toBe(false);
    const { connection, states } = newConnection();
    await connection.connect(target());

    expect(connection.state).toBe('connected');
    expect(states).toEqual(expect.arrayContaining(['connecting', 'bootstrapping', 'connected']));
    expect(states.indexOf('bootstrapping')).toBeLessThan(states.indexOf('connected'));
    // The fingerprint the user was shown is OpenSSH's own for that host key.
    const expected = opensshFingerprint(join(work, 'host_key_a.pub'));
    expect(prompts).toHaveLength(1);
    expect(prompts[0]!.fingerprint).toBe(expected);
    expect(JSON.parse(readFileSync(pinFile, 'utf8'))).toEqual({ [`127.0.0.1:${sshd.port}`]: expected });

    // The agent was uploaded into a versioned directory (no .partial left) with koffi's native module.
    const remote = connection.remoteAgent!;
    expect(remote.uploaded).toBe(true);
    expect(readdirSync(installRoot).filter((name) => name.includes('.partial'))).toEqual([]);
    expect(readFileSync(join(remote.installDir, 'containers-lab.js')).equals(readFileSync(bundleMain))).toBe(true);
    expect(existsSync(join(remote.installDir, 'containers-lab.js.map'))).toBe(false);
    expect(existsSync(join(remote.installDir, 'node_modules', '@koromix', 'koffi-linux-x64', 'linux_x64', 'koffi.node'))).toBe(true);

    // The service runs from the uploaded copy, on our socket and state root.
    const cmdline = readFileSync(`/proc/${agentPid()}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toEqual(expect.arrayContaining([remote.agentPath, 'serve', '--socket', socketPath, '--root', stateRoot]));
    expect(connection.info!.stateRoot).toBe(stateRoot);
    expect(connection.via).toBe('streamlocal');
  });

  it('runs, inspects, execs with a TTY, stops and removes a container through the connection', async () => {
    const connection = connections[0]!;
    const client = connection.client!;
    const name = `sshconn-${process.pid}-a`;
    createdNames.push(name);
    const changed: string[] = [];
    const off = connection.on('notification', (method, params) => {
      if (method === 'container.changed' && (params as { summary: { name: string } }).summary.name === name) changed.push((params as { status: string }).status);
    });

    const record: ContainerRecord = await client.call('container.run', { name, hostname: 'sshconn-box', net: 'none', args: ['sleep', '1000'] });
    expect(record.status).toBe('running');
    const pid = record.pid!;
    for (const [type, inode] of Object.entries(record.namespaces)) {
      expect(inode, type).toBe(nsInode(pid, type));
      if (!record.sharedWithHost.includes(type as never)) expect(inode, type).not.toBe(nsInode('self', type));
    }
    const inspected = await client.call('container.inspect', { id: name });
    expect(inspected.pid).toBe(pid);

    // exec with a TTY: type `hostname` and `exit`, read the terminal's output from notifications.
    let output = '';
    let exitCode: number | null = null;
    let session = '';
    const pending: { session: string; data: string }[] = [];
    const offExec = connection.on('notification', (method, params) => {
      const p = params as { session: string; data?: string; code?: number };
      if (method === 'exec.output') {
        if (session === p.session) output += Buffer.from(p.data!, 'base64').toString();
        else pending.push({ session: p.session, data: p.data! });
      }
      if (method === 'exec.exit' && p.session === session) exitCode = p.code!;
    });
    const started = await client.call('exec.start', { id: name, args: ['sh'], tty: true, cols: 80, rows: 24 });
    session = started.session;
    for (const early of pending) if (early.session === session) output += Buffer.from(early.data, 'base64').toString();
    await client.call('exec.input', { session, data: Buffer.from('hostname\n').toString('base64') });
    await waitFor(() => /\r?\nsshconn-box\r?\n/.test(output), `"sshconn-box" in the terminal (got ${JSON.stringify(output)})`);
    await client.call('exec.input', { session, data: Buffer.from('exit\n').toString('base64') });
    await waitFor(() => exitCode !== null, 'the exec session to exit');
    expect(exitCode).toBe(0);
    offExec();

    await client.call('container.stop', { id: name, timeoutSeconds: 1 });
    expect((await client.call('container.inspect', { id: name })).status).toBe('stopped');
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
    await client.call('container.remove', { id: name });
    expect((await client.call('container.list', {})).some((summary) => summary.name === name)).toBe(false);
    await waitFor(() => changed.includes('stopped'), 'a container.changed notification for the stop');
    off();
  });

  it('reaches the agent through dial-stdio, reusing the installed agent and the pin', async () => {
    const pidBefore = agentPid();
    const promptsBefore = prompts.length;
    const { connection, logs } = newConnection({ transport: 'dial-stdio' });
    await connection.connect(target());
    expect(connection.via).toBe('dial-stdio');
    expect(connection.remoteAgent!.uploaded).toBe(false);
    expect(agentPid()).toBe(pidBefore);
    expect(logs.some((line) => line.includes('starting the agent'))).toBe(false);
    expect(logs.some((line) => line.includes('connected to the agent'))).toBe(true);
    expect(prompts.length).toBe(promptsBefore);
    expect((await connection.client!.call('agent.info', {})).stateRoot).toBe(stateRoot);
    // The bridge is a real process on the host: `node …/containers-lab.js dial-stdio --socket …`.
    const bridges = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes('dial-stdio');
      } catch {
        return false;
      }
    });
    expect(bridges.length).toBeGreaterThanOrEqual(1);
    await connection.disconnect();
    expect(connection.state).toBe('disconnected');
    expect(connection.client).toBeNull();
  });

  it('reconnects after its sshd connection is killed; the container started before still runs', async () => {
    const connection = connections[0]!;
    const name = `sshconn-${process.pid}-b`;
    createdNames.push(name);
    const record = await connection.client!.call('container.run', { name, net: 'none', args: ['sleep', '1000'] });
    const states: ConnectionState[] = [];
    connection.on('state', (state) => states.push(state));

    const perConnection = sshd.connectionPids();
    expect(perConnection.length).toBeGreaterThanOrEqual(1);
    for (const pid of perConnection) process.kill(pid, 'SIGKILL');

    await waitFor(() => states.includes('reconnecting'), 'state reconnecting');
    await waitFor(() => connection.state === 'connected', 'state connected again');
    expect(states.indexOf('reconnecting')).toBeLessThan(states.lastIndexOf('connected'));
    // A new sshd connection carries the new link.
    expect(sshd.connectionPids().some((pid) => !perConnection.includes(pid))).toBe(true);

    const listed = (await connection.client!.call('container.list', {})).find((summary) => summary.name === name);
    expect(listed?.status).toBe('running');
    expect(listed?.pid).toBe(record.pid);
    expect(existsSync(`/proc/${record.pid}`)).toBe(true);
    await connection.client!.call('container.remove', { id: name, force: true });
  });

  it('stops reconnecting when disconnect() is called while reconnecting', async () => {
    const connection = connections[0]!;
    const states: ConnectionState[] = [];
    connection.on('state', (state) => states.push(state));
    for (const pid of sshd.connectionPids()) process.kill(pid, 'SIGKILL');
    await waitFor(() => states.includes('reconnecting'), 'state reconnecting');
    await connection.disconnect();
    expect(connection.state).toBe('disconnected');
    await new Promise((resolveWait) => setTimeout(resolveWait, 1500));
    expect(states.slice(states.indexOf('reconnecting'))).toEqual(['reconnecting', 'disconnected']);
    expect(sshd.connectionPids()).toEqual([]);
  });

  it('connects to the local target (the agent socket on this machine) without SSH', async () => {
    const { connection } = newConnection();
    await connection.connect(localTarget(socketPath));
    expect(connection.via).toBe('local');
    expect(connection.info!.stateRoot).toBe(stateRoot);
    await connection.disconnect();
    const { connection: nobody } = newConnection();
    await expect(nobody.connect(localTarget(join(work, 'nothing.sock')))).rejects.toThrow(/no agent answers on .*nothing\.sock/);
    expect(nobody.state).toBe('failed');
  });

  it('refuses a changed host key with a message naming the host, both fingerprints and the reset', async () => {
    const pinned = opensshFingerprint(join(work, 'host_key_a.pub'));
    const offered = opensshFingerprint(join(work, 'host_key_b.pub'));
    await sshd.restartWithHostKey(join(work, 'host_key_b'));
    const promptsBefore = prompts.length;
    const { connection } = newConnection();
    const failure = await connection.connect(target()).then(() => null, (error: Error) => error);
    expect(failure).toBeInstanceOf(HostKeyChangedError);
    expect(failure!.message).toContain(`127.0.0.1:${sshd.port}`);
    expect(failure!.message).toContain(pinned);
    expect(failure!.message).toContain(offered);
    expect(failure!.message).toContain(`remove "127.0.0.1:${sshd.port}" from ${pinFile}`);
    expect(connection.state).toBe('failed');
    expect(prompts.length).toBe(promptsBefore); // never asked: a changed key is not a question
    expect(JSON.parse(readFileSync(pinFile, 'utf8'))[`127.0.0.1:${sshd.port}`]).toBe(pinned);
  });

  it('computes fingerprints exactly as OpenSSH does', () => {
    const publicKey = readFileSync(join(work, 'host_key_b.pub'), 'utf8').split(' ')[1]!;
    expect(sha256Fingerprint(Buffer.from(publicKey, 'base64'))).toBe(opensshFingerprint(join(work, 'host_key_b.pub')));
  });
});

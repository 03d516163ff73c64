/*
 * The extension's connection keeps trying until the lab host is back (issue 14): a window opened or
 * reloaded while the agent is stopped (`scripts/lab stop`) or while the lab host's sshd is down
 * must connect by itself once it returns, not stay "failed"; an agent stopped with SIGTERM while
 * connected is noticed at once ("reconnecting") and reconnected to when it is started again; and
 * a failure that waiting cannot fix (a changed host key) is not retried.
 *
 * Real parts only: the real agent (`containers-lab serve` started by test/helpers/service.ts, or
 * bootstrapped over SSH by the connection itself), Debian's sshd on 127.0.0.1 with throwaway keys
 * (test/helpers/sshd.ts), and the connection class the extension uses (ReconnectingLabConnection,
 * no VS Code needed). No container is made. Every process is stopped by the PID started; the
 * temporary directory (install root, state roots, sockets, pins) is removed at the end.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUDO_HINT } from '../extension/connection/agent-stream';
import { NODE_FIX } from '../extension/connection/bootstrap';
import { HostKeyChangedError, HostKeyRejectedError, JsonFileHostKeyStore } from '../extension/connection/host-keys';
import { ReconnectingLabConnection } from '../extension/connection/lab-connection';
import { Backoff, isWorthRetrying } from '../extension/connection/retry';
import { localTarget } from '../extension/connection/targets';
import type { ConnectionState, LabTarget } from '../extension/connection/types';
import { processExists } from './helpers/kernel-witness';
import { ensureBuilt, startService, stopService, type RunningService } from './helpers/service';
import { makeKey, startSshd, type TestSshd } from './helpers/sshd';

const bundleDir = join(__dirname, '..', 'dist', 'agent');
const work = mkdtempSync(join(tmpdir(), 'cl-conn-retry-'));
const connections: ReconnectingLabConnection[] = [];
const services: RunningService[] = [];

interface Watched {
  connection: ReconnectingLabConnection;
  states: { state: ConnectionState; detail: string | undefined }[];
  logs: string[];
}

function watched(options: { pins?: string; remote?: { installRoot: string; socketPath: string; stateRoot: string } } = {}): Watched {
  const connection = new ReconnectingLabConnection({
    bundleDir,
    hostKeys: new JsonFileHostKeyStore(options.pins ?? join(work, 'pins.json')),
    promptHostKey: async () => true,
    ...(options.remote ? { remote: { ...options.remote, service: 'background' as const } } : {}),
    // Short pauses so the test is quick; the growth (doubling to a cap) is the same as the default's.
    reconnect: { initialDelayMs: 200, maxDelayMs: 1000 },
  });
  const states: Watched['states'] = [];
  const logs: string[] = [];
  connection.on('state', (state, detail) => states.push({ state, detail }));
  connection.on('log', (line) => logs.push(line));
  connections.push(connection);
  return { connection, states, logs };
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(() => ensureBuilt());

afterAll(async () => {
  for (const connection of connections) await connection.disconnect();
  for (const service of services) await stopService(service);
  // The agent the SSH bootstrap started in the background: its PID file says which.
  const pidFile = join(work, 'home', '.containers-lab', 'agent', 'agent.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (processExists(pid)) {
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (processExists(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  rmSync(work, { recursive: true, force: true });
});

describe('what is tried again, and how often', () => {
  it('retries a host that does not answer; not what waiting cannot fix', () => {
    expect(isWorthRetrying(new Error('no agent answers on /run/containers-lab/agent.sock (ENOENT): start it with scripts/lab'))).toBe(true);
    expect(isWorthRetrying(new Error('connect ECONNREFUSED 127.0.0.1:22'))).toBe(true);
    expect(isWorthRetrying(new HostKeyRejectedError('127.0.0.1:22', 'SHA256:x'))).toBe(false);
    expect(isWorthRetrying(new HostKeyChangedError('127.0.0.1:22', 'SHA256:a', 'SHA256:b', 'remove it'))).toBe(false);
    expect(isWorthRetrying(new Error(SUDO_HINT))).toBe(false);
    expect(isWorthRetrying(new Error(`${NODE_FIX} (found v16.20.0)`))).toBe(false);
    expect(isWorthRetrying(new Error('no agent answers on /run/x.sock (EACCES): the socket is root-only: VS Code must run as root'))).toBe(false);
  });

  it('pauses 0.5 s, doubling up to 10 s', () => {
    const pauses = new Backoff();
    expect(Array.from({ length: 8 }, () => pauses.next())).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });
});

describe('the local agent (host mode): stopped, started again', () => {
  const stateRoot = join(work, 'local-state');
  const socketPath = join(work, 'local-run', 'agent.sock');
  let watch: Watched;

  it('a connect while no agent runs fails, says it retries, and connects by itself once the agent is started', async () => {
    watch = watched();
    const { connection, states } = watch;
    await expect(connection.connect(localTarget(socketPath))).rejects.toThrow(/no agent answers on .*agent\.sock/);
    expect(connection.state).toBe('failed');
    expect(states.at(-1)!.detail).toMatch(/no agent answers .*; retrying in 0\.2 s$/);

    // Nobody calls connect() again: the agent coming up is enough.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(connection.state).toBe('failed');
    expect(states.filter((entry) => entry.state === 'failed').length).toBeGreaterThan(1); // it did try again
    services.push(await startService(stateRoot, socketPath));
    await until('connected', () => connection.state === 'connected');
    expect(connection.info!.stateRoot).toBe(stateRoot);
    expect(connection.via).toBe('local');
  });

  it('SIGTERM to the agent: the connection notices at once, and reconnects when the agent is back', async () => {
    const { connection, states } = watch;
    const agent = services.pop()!;
    const exited = new Promise((resolve) => agent.process.once('exit', resolve));
    const from = states.length;
    const sentAt = Date.now();
    process.kill(agent.process.pid!, 'SIGTERM');
    await until('reconnecting', () => connection.state === 'reconnecting', 5_000);
    expect(Date.now() - sentAt).toBeLessThan(5_000);
    await exited;
    expect(existsSync(socketPath)).toBe(false);
    // Tries go on (each failure reported as still reconnecting, never as disconnected).
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(states.slice(from).map((entry) => entry.state)).not.toContain('disconnected');
    expect(states.slice(from).every((entry) => entry.state === 'reconnecting')).toBe(true);

    services.push(await startService(stateRoot, socketPath));
    await until('connected again', () => connection.state === 'connected');
    expect((await connection.client!.call('agent.info', {})).stateRoot).toBe(stateRoot);
  });

  it('disconnect() ends the tries', async () => {
    const { connection, states } = watch;
    await stopService(services.pop()!);
    await until('reconnecting', () => connection.state === 'reconnecting', 5_000);
    await connection.disconnect();
    const from = states.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(states.slice(from)).toEqual([]);
    expect(connection.state).toBe('disconnected');
  });
});

describe('an SSH lab host whose sshd is down', () => {
  let sshd: TestSshd;
  const hostKey = join(work, 'host_key_a');
  const remote = { installRoot: join(work, 'home', '.containers-lab', 'agent'), socketPath: join(work, 'ssh-run', 'agent.sock'), stateRoot: join(work, 'ssh-state') };
  const target = (): LabTarget => ({ kind: 'settings', label: `root@127.0.0.1:${sshd.port}`, host: '127.0.0.1', port: sshd.port, username: 'root', privateKeyPath: sshd.clientKey });

  beforeAll(async () => {
    makeKey(hostKey);
    makeKey(join(work, 'host_key_b'));
    sshd = await startSshd(work, hostKey);
  });

  afterAll(async () => {
    await sshd?.stop();
  });

  it('a window opened while sshd is down connects by itself once sshd is back (bootstrapping the agent)', async () => {
    await sshd.stop();
    const { connection, states } = watched({ remote });
    await expect(connection.connect(target())).rejects.toThrow();
    expect(connection.state).toBe('failed');
    expect(states.at(-1)!.detail).toMatch(/; retrying in 0\.2 s$/);
    await new Promise((resolve) => setTimeout(resolve, 500));

    await sshd.restartWithHostKey(hostKey); // the same key, the same port: the host is simply back
    await until('connected over SSH', () => connection.state === 'connected', 60_000);
    expect(connection.via).toBe('streamlocal');
    expect(connection.info!.stateRoot).toBe(remote.stateRoot);
    await connection.disconnect();
  });

  it('a changed host key is not retried: the state stays "failed" and no further attempt is made', async () => {
    await sshd.restartWithHostKey(join(work, 'host_key_b'));
    const { connection, states, logs } = watched({ remote });
    await expect(connection.connect(target())).rejects.toBeInstanceOf(HostKeyChangedError);
    const connectionsBefore = sshd.connectionPids().length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(states.map((entry) => entry.state)).toEqual(['connecting', 'failed']);
    expect(states.at(-1)!.detail).not.toMatch(/retrying/);
    expect(logs.some((line) => /attempt \d+ failed/.test(line))).toBe(false);
    expect(sshd.connectionPids().length).toBeLessThanOrEqual(connectionsBefore);
  });
});

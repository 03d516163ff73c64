/*
 * What an exec may not leave behind, through a real service (the bundled `containers-lab serve`):
 *
 *   - a failed exec.start — a bad terminal size, an argv too large for the child's arena, a
 *     program that is not there, a stopped container, a working directory that is not there —
 *     leaves the agent's descriptor table as it was (counted in /proc/<agent pid>/fd): a leaked
 *     namespace descriptor would keep a removed container's namespaces alive;
 *   - an exec whose session is gone ends: its client SIGKILLed, the agent hangs it up (SIGHUP),
 *     and one that ignores SIGHUP is killed after a grace.
 *
 * Containers use --net none; the state root is /tmp/cl-exec-leaks-*, removed at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AgentMethods, ExecOptions } from '../agent/protocol';
import { openRuntime } from '../agent/runtime/runtime';
import type { AgentClient } from '../agent/service/client';
import { cgroupDirsNamed, leftovers, NONE_LEFT, processExists } from './helpers/kernel-witness';
import { AGENT_BUNDLE, startService, stopService, type RunningService } from './helpers/service';
import { waitFor } from './helpers/wait';

const root = mkdtempSync('/tmp/cl-exec-leaks-');
const socket = join(root, 'agent.sock');
let service: RunningService;
let client: AgentClient;

const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
/** The PIDs in the container's cgroup (in every hierarchy: v1 lists them once per controller). */
const cgroupProcs = (id: string): number[] =>
  [...new Set(cgroupDirsNamed(id).flatMap((dir) => readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)))];

beforeAll(async () => {
  service = await startService(root, socket);
  client = service.client;
});

afterAll(async () => {
  if (service) await stopService(service);
  rmSync(root, { recursive: true, force: true });
});

describe('exec.start failures', () => {
  test('1000 failing requests leave the agent with as many descriptors as before', async () => {
    const running = await client.call('container.run', { name: 'leaky', net: 'none' });
    const stopped = await client.call('container.run', { name: 'ended', net: 'none', args: ['true'] });
    try {
      for (let attempt = 0; attempt < 200 && (await client.call('container.inspect', { id: 'ended' })).status !== 'stopped'; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const huge = 'x'.repeat(2 * 1024 * 1024 + 4096);
      const failures: [string, AgentMethods['exec.start'][0]][] = [
        ['cols -1', { id: 'leaky', args: ['sh'], tty: true, cols: -1, rows: 24 }],
        ['argv over 2 MiB', { id: 'leaky', args: ['echo', huge] }],
        ['missing program', { id: 'leaky', args: ['/no/such/program'] }],
        ['stopped container', { id: 'ended', args: ['true'] }],
        ['bad cwd', { id: 'leaky', args: ['true'], cwd: '/no/such/dir' }],
      ];
      const failOnce = async (what: string, params: AgentMethods['exec.start'][0]): Promise<void> => {
        const outcome = await client.call('exec.start', params).then(() => 'accepted', (error: Error) => error.message);
        expect(outcome, what).not.toBe('accepted');
      };
      // Once each first: what the agent opens once and keeps (a library, a socket) is not a leak.
      for (const [what, params] of failures) await failOnce(what, params);
      const agent = service.process.pid!;
      const before = fdCount(agent);
      for (let round = 0; round < 200; round++) {
        for (const [what, params] of failures) await failOnce(what, params);
      }
      expect(fdCount(agent)).toBe(before);
      expect(service.unexpectedExit()).toBeNull();
    } finally {
      await client.call('container.remove', { id: 'leaky', force: true });
      await client.call('container.remove', { id: 'ended', force: true });
    }
    expect(leftovers(root, [running, stopped])).toEqual(NONE_LEFT);
  }, 300_000);
});

describe('exec.start failures in the runtime itself', () => {
  // The service's parameter checks refuse a negative size or a huge argv before the runtime sees
  // them; the runtime must not leak on them either (the standalone CLI, the labs call it directly).
  test('a bad terminal size, a huge argv, a missing program or cwd leave /proc/self/fd as it was', async () => {
    const inProcessRoot = mkdtempSync('/tmp/cl-exec-leaks-inproc-');
    const runtime = openRuntime({ stateRoot: inProcessRoot });
    try {
      const record = await runtime.run({ name: 'inproc', net: 'none' });
      const huge = 'x'.repeat(2 * 1024 * 1024 + 4096);
      const failures: [string, ExecOptions][] = [
        ['cols -1', { id: 'inproc', args: ['sh'], tty: true, cols: -1, rows: 24 }],
        ['argv over 2 MiB', { id: 'inproc', args: ['echo', huge] }],
        ['missing program', { id: 'inproc', args: ['/no/such/program'] }],
        ['bad cwd', { id: 'inproc', args: ['true'], cwd: '/no/such/dir' }],
      ];
      const failOnce = (what: string, options: ExecOptions): void => {
        expect(() => runtime.exec(options), what).toThrow();
      };
      for (const [what, options] of failures) failOnce(what, options);
      const before = fdCount(process.pid);
      for (let round = 0; round < 50; round++) {
        for (const [what, options] of failures) failOnce(what, options);
      }
      expect(fdCount(process.pid)).toBe(before);
      await runtime.remove('inproc', true);
      expect(leftovers(inProcessRoot, [record])).toEqual(NONE_LEFT);
    } finally {
      if (runtime.list().length > 0) await runtime.remove('inproc', true);
      runtime.close();
      rmSync(inProcessRoot, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('an exec whose client is gone', () => {
  test('ignoring SIGHUP, it is killed after a grace', async () => {
    const record = await client.call('container.run', { name: 'hangup', net: 'none' });
    // The idle shell and its sleep: wait until both are there, so the exec is the one new PID.
    const own = await waitFor(() => cgroupProcs(record.id), (pids) => pids.length === 2);
    // The client is the CLI in a process of its own, so that it can be SIGKILLed.
    const cli = spawn(process.execPath, [AGENT_BUNDLE, '--socket', socket, 'exec', 'hangup', '--', 'sh', '-c', "trap '' HUP; echo $$; exec sleep 1000"], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const cliExited = new Promise((resolve) => cli.once('exit', resolve));
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        let out = '';
        cli.stdout.on('data', (data: Buffer) => {
          out += data.toString();
          if (out.includes('\n')) resolve(Number(out.trim().split('\n')[0]));
        });
        cli.once('exit', (code) => reject(new Error(`the CLI exited (${code}) before the exec printed its PID`)));
      });
      // The host PID of the exec'd shell (its own PID namespace prints another): find it in the cgroup.
      expect(pid).toBeGreaterThan(0);
      const execPids = await waitFor(() => cgroupProcs(record.id).filter((p) => !own.includes(p)), (pids) => pids.length === 1);
      expect(execPids).toHaveLength(1);
      const execPid = execPids[0]!;
      cli.kill('SIGKILL');
      await cliExited;
      const gone = await waitFor(() => !processExists(execPid), (done) => done, 10_000);
      expect(gone).toBe(true);
      expect(processExists(record.pid!)).toBe(true);
      expect(service.unexpectedExit()).toBeNull();
    } finally {
      if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
      await client.call('container.remove', { id: 'hangup', force: true });
    }
    expect(leftovers(root, [record])).toEqual(NONE_LEFT);
  }, 60_000);
});

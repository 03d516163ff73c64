/*
 * State that survives (issue 13, part 4): a container's record is the agent's only memory of it,
 * so it must survive the agent dying mid-save and the machine losing power, and an unreadable
 * one must not make the agent forget a container whose process, cgroup, veth and lease live on.
 *
 *   - an empty or torn state.json of a running container: the next runtime adopts it from its
 *     config.json and what the kernel shows (the cgroup named after its id holds its PID; the
 *     bridge ledger its lease) — or, with config.json unreadable too, removes everything it left;
 *   - every save that makes a record or changes its status is fsync'd before it takes state.json's
 *     place, and its directory after (strace of the real service as the witness);
 *   - a created (not started) container survives a graceful restart of the service.
 *
 * Containers use --net none, except where the network is the point: then bridge clstate0 with
 * 10.79.253.0/24, removed at the end. State roots are /tmp/cl-state-recovery-*.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { ContainerRecord } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { connectAgent } from '../agent/service/client';
import { cgroupDirsNamed, hostLinkNames, leftovers, NONE_LEFT, nsInode, processExists, removeBridgeIfCreated } from './helpers/kernel-witness';
import { AGENT_BUNDLE, ensureBuilt, startService, stopService } from './helpers/service';
import { waitFor } from './helpers/wait';

const BRIDGE = 'clstate0';
const SUBNET = '10.79.253.0/24';
const roots: string[] = [];
const runtimes: ContainerRuntime[] = [];
/** Every container a test made, so that afterAll can remove what a failed test left. */
const made: { root: string; record: ContainerRecord }[] = [];
const dropBridge = removeBridgeIfCreated(BRIDGE);

function stateRoot(): string {
  const root = mkdtempSync('/tmp/cl-state-recovery-');
  roots.push(root);
  return root;
}

function open(root: string, log?: (line: string) => void): ContainerRuntime {
  const runtime = openRuntime({ stateRoot: root, defaultBridge: { name: BRIDGE, subnet: SUBNET }, ...(log ? { log } : {}) });
  runtimes.push(runtime);
  return runtime;
}

function close(runtime: ContainerRuntime): void {
  runtime.close();
  runtimes.splice(runtimes.indexOf(runtime), 1);
}

const statePath = (root: string, id: string): string => join(root, 'containers', id, 'state.json');
const ledger = (root: string): { allocations: Record<string, { ip: string; vethHost: string }> } =>
  JSON.parse(readFileSync(join(root, 'network', `${BRIDGE}.json`), 'utf8')) as { allocations: Record<string, { ip: string; vethHost: string }> };
const cgroupProcs = (id: string): number[] =>
  cgroupDirsNamed(id).flatMap((dir) => readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));

afterAll(() => {
  for (const runtime of runtimes.splice(0)) runtime.close();
  // What a failed test left: its processes (PIDs our runtimes started), cgroups, veths, then the roots.
  for (const { record } of made) {
    for (const pid of cgroupProcs(record.id)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (record.pid !== null && processExists(record.pid)) process.kill(record.pid, 'SIGKILL');
  }
  for (const { record } of made) {
    // Deepest first; a cgroup whose killed tasks are still leaving answers EBUSY for a moment.
    for (const dir of cgroupDirsNamed(record.id).sort((a, b) => b.length - a.length)) {
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          rmdirSync(dir);
          break;
        } catch {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        }
      }
    }
    const veth = record.network.vethHost;
    if (veth && hostLinkNames().includes(veth)) execFileSync('ip', ['link', 'del', veth]);
  }
  dropBridge();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('an unreadable state.json', () => {
  test('empty, of a running container: the next runtime adopts it from config.json and its cgroup', async () => {
    const root = stateRoot();
    const first = open(root);
    const record = await first.run({ name: 'torn-empty', net: 'none' });
    made.push({ root, record });
    close(first);
    writeFileSync(statePath(root, record.id), '');

    const lines: string[] = [];
    const second = open(root, (line) => lines.push(line));
    expect(second.list().map((c) => [c.name, c.status, c.pid])).toEqual([['torn-empty', 'running', record.pid]]);
    // The kernel's witnesses: the cgroup named after the id holds that PID; the namespaces are its.
    expect(cgroupProcs(record.id)).toContain(record.pid);
    const inspected = second.inspect('torn-empty');
    expect(inspected.namespaces).toEqual(record.namespaces);
    expect(inspected.namespaces.pid).toBe(nsInode(record.pid!, 'pid'));
    expect(inspected.rootfs).toEqual(record.rootfs);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/recovered container torn-empty .*running/);
    // The record is whole on disk again.
    expect(JSON.parse(readFileSync(statePath(root, record.id), 'utf8'))).toMatchObject({ id: record.id, status: 'running', pid: record.pid });

    await second.remove('torn-empty', true);
    expect(leftovers(root, [record])).toEqual(NONE_LEFT);
  });

  test('torn, of a bridged container: adopted with its lease and veth from the bridge ledger', async () => {
    const root = stateRoot();
    const first = open(root);
    const record = await first.run({ name: 'torn-bridge', net: 'bridge', bridge: BRIDGE, subnet: SUBNET });
    made.push({ root, record });
    close(first);
    const text = readFileSync(statePath(root, record.id), 'utf8');
    writeFileSync(statePath(root, record.id), text.slice(0, text.length / 2));

    const lines: string[] = [];
    const second = open(root, (line) => lines.push(line));
    const inspected = second.inspect('torn-bridge');
    expect([inspected.status, inspected.pid]).toEqual(['running', record.pid]);
    expect(inspected.network).toEqual(record.network);
    expect(lines).toEqual([expect.stringMatching(/recovered container torn-bridge .*running/)]);

    await second.remove('torn-bridge', true);
    expect(leftovers(root, [record])).toEqual(NONE_LEFT);
    expect(ledger(root).allocations[record.id]).toBeUndefined();
    expect(hostLinkNames()).not.toContain(record.network.vethHost);
  });

  test('of a stopped container: adopted as stopped, and removable', async () => {
    const root = stateRoot();
    const first = open(root);
    const record = await first.run({ name: 'torn-stopped', net: 'none', args: ['true'] });
    made.push({ root, record });
    await waitFor(() => first.inspect('torn-stopped').status, (status) => status === 'stopped');
    close(first);
    writeFileSync(statePath(root, record.id), '{"id": "');

    const lines: string[] = [];
    const second = open(root, (line) => lines.push(line));
    expect(second.list().map((c) => [c.name, c.status])).toEqual([['torn-stopped', 'stopped']]);
    expect(lines).toEqual([expect.stringMatching(/recovered container torn-stopped .*stopped/)]);
    await second.remove('torn-stopped');
    expect(leftovers(root, [record])).toEqual(NONE_LEFT);
  });

  test('with config.json unreadable too: its processes, cgroup, veth, lease and directory are removed', async () => {
    const root = stateRoot();
    const first = open(root);
    const record = await first.run({ name: 'lost', net: 'bridge', bridge: BRIDGE, subnet: SUBNET });
    made.push({ root, record });
    close(first);
    writeFileSync(statePath(root, record.id), '');
    writeFileSync(join(root, 'containers', record.id, 'config.json'), '{"ociVersion": "1.1.0", "proc');
    expect(processExists(record.pid!)).toBe(true);

    const lines: string[] = [];
    const second = open(root, (line) => lines.push(line));
    expect(second.list()).toEqual([]);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`removed container ${record.id.slice(0, 12)}.*${record.network.ip!.replace(/\./g, '\\.')}`))]);
    expect(leftovers(root, [record])).toEqual(NONE_LEFT);
    expect(ledger(root).allocations[record.id]).toBeUndefined();
  });
});

describe('durable saves', () => {
  test('state.json and config.json are fsync\'d before they take their names, and their directory after', async () => {
    ensureBuilt();
    const root = stateRoot();
    const socket = join(root, 'agent.sock');
    const trace = join(root, 'trace.txt');
    const tracer = spawn('strace', [
      '-f', '-qq', '-y', '-o', trace, '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2',
      process.execPath, AGENT_BUNDLE, 'serve', '--root', root, '--socket', socket,
    ], { stdio: 'ignore' });
    const tracerExited = new Promise((resolve) => tracer.once('exit', resolve));
    let agentPid: number | null = null;
    try {
      const client = await waitFor(() => (existsSync(socket) ? socket : null), (path) => path !== null, 20_000)
        .then(async () => {
          for (let attempt = 0; attempt < 100; attempt++) {
            const connected = await connectAgent(socket).catch(() => null);
            if (connected) return connected;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          throw new Error('the traced agent did not answer');
        });
      agentPid = Number(execFileSync('pgrep', ['-P', String(tracer.pid)], { encoding: 'utf8' }).trim());
      const record = await client.call('container.run', { name: 'durable', net: 'none', args: ['true'] });
      made.push({ root, record });
      for (let attempt = 0; attempt < 200 && (await client.call('container.inspect', { id: 'durable' })).status !== 'stopped'; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await client.call('container.remove', { id: 'durable' });
      client.close();
      process.kill(agentPid, 'SIGTERM');
      await tracerExited;

      const directory = join(root, 'containers', record.id);
      const lines = readFileSync(trace, 'utf8').split('\n');
      // renameat2(AT_FDCWD</cwd>, "<from>", AT_FDCWD</cwd>, "<to>", …) or rename("<from>", "<to>")
      const renames = lines.map((line, index) => ({ index, match: /rename\w*\((?:[^"]*, )?"([^"]+)", (?:[^"]*, )?"([^"]+)"/.exec(line) }))
        .filter((entry) => entry.match && entry.match[2]!.startsWith(`${directory}/`) && /\/(state|config)\.json$/.test(entry.match[2]!));
      // create writes config.json and state.json ("creating"); start "running"; the exit "stopped".
      expect(renames.length).toBeGreaterThanOrEqual(4);
      for (const { index, match } of renames) {
        const from = match![1]!;
        const syncedBefore = lines.slice(0, index).some((line) => /f(data)?sync\(\d+<([^>]+)>\)\s+= 0/.exec(line)?.[2] === from);
        const dirSyncedAfter = lines.slice(index + 1).some((line) => /fsync\(\d+<([^>]+)>\)\s+= 0/.exec(line)?.[1] === directory);
        expect({ rename: lines[index], syncedBefore, dirSyncedAfter }).toEqual({ rename: lines[index], syncedBefore: true, dirSyncedAfter: true });
      }
    } finally {
      if (agentPid !== null && processExists(agentPid)) process.kill(agentPid, 'SIGKILL');
      if (tracer.exitCode === null && tracer.signalCode === null) tracer.kill('SIGKILL');
      await tracerExited;
    }
  });
});

describe('a created container', () => {
  test('survives a graceful restart of the service, and the new agent can start it', async () => {
    const root = stateRoot();
    const socket = join(root, 'agent.sock');
    const first = await startService(root, socket);
    const record = await first.client.call('container.run', { name: 'made-only', net: 'none', hostname: 'made-only', createOnly: true });
    made.push({ root, record });
    expect(record.status).toBe('created');
    await stopService(first); // SIGTERM

    const second = await startService(root, socket);
    try {
      expect((await second.client.call('container.list', {})).map((c) => [c.name, c.status])).toEqual([['made-only', 'created']]);
      const started = await second.client.call('container.start', { id: 'made-only' });
      made.push({ root, record: started });
      expect(started.status).toBe('running');
      expect(processExists(started.pid!)).toBe(true);
      expect(cgroupProcs(record.id)).toContain(started.pid);
      expect(started.hostname).toBe('made-only');
      await second.client.call('container.stop', { id: 'made-only', timeoutSeconds: 5 });
      await second.client.call('container.remove', { id: 'made-only' });
      expect(leftovers(root, [record, started])).toEqual(NONE_LEFT);
      expect(readdirSync(join(root, 'containers'))).toEqual([]);
    } finally {
      await stopService(second);
    }
  });
});

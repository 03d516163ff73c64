/*
 * The warm pool (agent/runtime/lifecycle/warm-pool.ts): a claimed sandbox must be, by the
 * kernel's own account, the container the request asked for; waiting sandboxes are no
 * containers; and neither shutdown nor a crash may leave any of them behind.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../agent/runtime/runtime';
import { cgroupDirsNamed, hostMountsMentioning, leftovers, NONE_LEFT, nsInode, processExists } from './helpers/kernel-witness';
import { startService, stopService } from './helpers/service';

const OWN_NAMESPACES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'];

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A cgroup file of the container's process, found through /proc/<pid>/cgroup (v1 or v2). */
function cgroupFile(pid: number, controller: string, file: string): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((line) => line.split(':'));
  const v1 = lines.find(([, controllers]) => controllers!.split(',').includes(controller));
  if (v1) return readFileSync(`/sys/fs/cgroup/${v1[1]}${v1[2]}/${file}`, 'utf8').trim();
  const v2 = lines.find(([hierarchy]) => hierarchy === '0')!;
  const unified = existsSync('/sys/fs/cgroup/unified/cgroup.controllers') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
  return readFileSync(`${unified}${v2[2]}/${file}`, 'utf8').trim();
}

describe('a runtime with a warm pool', () => {
  const stateRoot = mkdtempSync('/tmp/cl-warm-pool-test-');
  const runtime = new Runtime({ stateRoot, warmPool: 2 });
  const seen: { id: string; pid: number | null }[] = [];
  const poolIds = (): string[] => runtime.warmPoolSandboxes().map((sandbox) => sandbox.id);
  afterAll(() => {
    runtime.close();
    rmSync(stateRoot, { recursive: true, force: true });
  });

  test('fills while idle; waiting sandboxes are not containers', async () => {
    await until(() => poolIds().length === 2, 'the pool to fill');
    expect(runtime.list()).toEqual([]);
    // They are real: a parked process each, in its cgroup, with a record that says "creating".
    for (const { id, pid } of runtime.warmPoolSandboxes()) {
      const state = JSON.parse(readFileSync(join(stateRoot, 'containers', id, 'state.json'), 'utf8')) as { status: string };
      expect(state.status).toBe('creating');
      expect(processExists(pid)).toBe(true);
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(id);
    }
  });

  test('a claimed sandbox is the requested container, by the kernel\'s view', async () => {
    const waiting = poolIds();
    const record = await runtime.run({
      name: 'wp-claimed', hostname: 'wp-host', net: 'none', memory: '48m', cpus: 0.25, pids: 21,
      env: ['WP_MARK=two words'], args: ['sleep', '300'],
    });
    seen.push({ id: record.id, pid: record.pid });
    expect(waiting).toContain(record.id);
    expect(poolIds()).not.toContain(record.id);
    const pid = record.pid!;
    expect(record.status).toBe('running');
    // the program, its argv and environment, as the kernel reports them
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)).toEqual(['sleep', '300']);
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain('WP_MARK=two words');
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('sleep');
    // its own namespaces, the host's user namespace
    for (const type of OWN_NAMESPACES) expect(nsInode(pid, type), type).not.toBe(nsInode('self', type));
    expect(nsInode(pid, 'user')).toBe(nsInode('self', 'user'));
    expect(execFileSync('nsenter', ['-t', String(pid), '-u', 'hostname'], { encoding: 'utf8' }).trim()).toBe('wp-host');
    // PID 1 of its PID namespace, working directory its root
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);
    expect(execFileSync('nsenter', ['-t', String(pid), '-m', '-p', '-r', '-w', 'pwd'], { encoding: 'utf8' }).trim()).toBe('/');
    // limits in the cgroup files
    const memory = cgroupFile(pid, 'memory', existsSync(`/sys/fs/cgroup/memory`) ? 'memory.limit_in_bytes' : 'memory.max');
    expect(Number(memory)).toBe(48 * 1024 * 1024);
    expect(cgroupFile(pid, 'pids', 'pids.max')).toBe('21');
    const cpu = existsSync('/sys/fs/cgroup/cpu,cpuacct') || existsSync('/sys/fs/cgroup/cpu')
      ? cgroupFile(pid, 'cpu', 'cpu.cfs_quota_us')
      : cgroupFile(pid, 'cpu', 'cpu.max').split(' ')[0];
    expect(cpu).toBe('25000');
    // the record says what the request said
    expect(record.name).toBe('wp-claimed');
    expect(record.hostname).toBe('wp-host');
    expect(record.config.process?.args).toEqual(['sleep', '300']);
    expect(record.config.root?.path).toBe(join(stateRoot, 'containers', record.id, 'merged'));
    // … and so do the files on disk (config.json is written over in place at claim: nothing of the template's may remain)
    const directory = join(stateRoot, 'containers', record.id);
    const onDisk = JSON.parse(readFileSync(join(directory, 'config.json'), 'utf8')) as typeof record.config;
    expect(onDisk.process?.args).toEqual(['sleep', '300']);
    expect(onDisk.hostname).toBe('wp-host');
    expect(readFileSync(join(directory, 'config.json'), 'utf8')).toBe(JSON.stringify(record.config, null, 2));
    expect(statSync(join(directory, 'config.json')).mode & 0o777).toBe(0o600);
    expect((JSON.parse(readFileSync(join(directory, 'state.json'), 'utf8')) as { status: string }).status).toBe('running');
    expect(readdirSync(directory).filter((entry) => entry.includes('.tmp'))).toEqual([]);
    expect(runtime.list().map((summary) => summary.name)).toEqual(['wp-claimed']);
    await runtime.remove(record.id, true);
    expect(leftovers(stateRoot, seen)).toEqual(NONE_LEFT);
  });

  test('a command that cannot run is reported, and the sandbox is not reused', async () => {
    await until(() => poolIds().length === 2, 'the pool to refill');
    const waiting = poolIds();
    // Not in PATH: refused before a sandbox is taken.
    await expect(runtime.run({ name: 'wp-unknown', net: 'none', args: ['no-such-command'] })).rejects.toThrow(/not found/);
    expect(poolIds()).toEqual(waiting);
    expect(runtime.list()).toEqual([]);
    await expect(runtime.run({ name: 'wp-missing', net: 'none', args: ['/no/such/program'] })).rejects.toThrow(/cannot execute/);
    const failed = runtime.list().find((summary) => summary.name === 'wp-missing');
    if (failed) {
      seen.push({ id: failed.id, pid: null });
      await runtime.remove(failed.id, true);
    }
  });

  test('a request of another shape takes the ordinary path', async () => {
    await until(() => poolIds().length === 2, 'the pool to refill');
    const waiting = poolIds();
    const record = await runtime.run({ name: 'wp-host-net', net: 'host', args: ['true'] });
    seen.push({ id: record.id, pid: record.pid });
    expect(waiting).not.toContain(record.id);
    expect(poolIds()).toEqual(waiting);
    await runtime.remove(record.id, true);
  });

  test('close() kills and deletes every waiting sandbox', async () => {
    await until(() => poolIds().length === 2, 'the pool to refill');
    const waiting = runtime.warmPoolSandboxes();
    expect(waiting.every(({ pid }) => processExists(pid))).toBe(true);
    runtime.close();
    expect(leftovers(stateRoot, [...seen, ...waiting])).toEqual(NONE_LEFT);
    expect(readdirSync(join(stateRoot, 'containers'))).toEqual([]);
  });
});

describe('a service with a warm pool', () => {
  const stateRoot = mkdtempSync('/tmp/cl-warm-pool-svc-');
  const socket = join(stateRoot, 'agent.sock');
  afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

  /** Sandboxes whose parked process is in place: found through their cgroups, as the kernel lists them. */
  const waitingSandboxes = (): { id: string; pid: number }[] =>
    readdirSync(join(stateRoot, 'containers')).flatMap((id) => {
      const procs = cgroupDirsNamed(id).flatMap((dir) => {
        try {
          return readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).map(Number);
        } catch {
          return [];
        }
      });
      return procs.length > 0 ? [{ id, pid: procs[0]! }] : [];
    });

  test('SIGTERM leaves nothing; a crash is cleaned up by the next agent', async () => {
    const service = await startService(stateRoot, socket, ['--warm-pool', '3']);
    await until(() => waitingSandboxes().length >= 3, 'the service to fill its pool');
    expect(await service.client.call('container.list', {})).toEqual([]);
    const beforeTerm = waitingSandboxes();
    await stopService(service, 'SIGTERM');
    expect(leftovers(stateRoot, beforeTerm)).toEqual(NONE_LEFT);
    expect(readdirSync(join(stateRoot, 'containers'))).toEqual([]);

    const crashing = await startService(stateRoot, socket, ['--warm-pool', '3']);
    await until(() => waitingSandboxes().length >= 3, 'the service to fill its pool');
    const beforeKill = waitingSandboxes();
    // A crash in the middle of a claim leaves a "creating" record whose config.json is missing
    // (deleted, its replacement not yet written): reconcile must delete it all the same.
    unlinkSync(join(stateRoot, 'containers', beforeKill[0]!.id, 'config.json'));
    await stopService(crashing, 'SIGKILL');
    // The parked children die with the agent (parent-death signal)…
    await until(() => beforeKill.every(({ pid }) => !processExists(pid)), 'the parked children to die', 5000);
    // …and the next agent deletes their records, cgroups and directories as it starts.
    const restarted = await startService(stateRoot, socket);
    expect(await restarted.client.call('container.list', {})).toEqual([]);
    await stopService(restarted, 'SIGTERM');
    expect(leftovers(stateRoot, beforeKill)).toEqual(NONE_LEFT);
    expect(readdirSync(join(stateRoot, 'containers'))).toEqual([]);
    expect(hostMountsMentioning(stateRoot)).toEqual([]);
  }, 60_000);
});

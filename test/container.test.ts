/*
 * A busybox container made by the runtime, checked against the kernel's own view.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openRuntime } from '../agent/runtime/runtime';
import type { ContainerRuntime } from '../agent/runtime/api';
import type { ContainerRecord } from '../agent/protocol';
import { removeBridge } from '../agent/runtime/network';
import { execCollect } from './helpers/exec';
import { leftovers, NONE_LEFT, nsInode } from './helpers/kernel-witness';
import { waitFor } from './helpers/wait';

const BRIDGE = 'cltc0';
const SUBNET = '10.77.93.0/24';
let stateRoot: string;
let runtime: ContainerRuntime;
const made: ContainerRecord[] = [];

async function run(options: Parameters<ContainerRuntime['run']>[0]): Promise<ContainerRecord> {
  const bridged = options.net === undefined || options.net === 'bridge';
  const record = await runtime.run(bridged ? { bridge: BRIDGE, subnet: SUBNET, ...options } : options);
  made.push(record);
  return record;
}


beforeAll(() => {
  stateRoot = mkdtempSync('/tmp/cl-container-test-');
  runtime = openRuntime({ stateRoot });
});

afterAll(async () => {
  for (const record of runtime.list()) await runtime.remove(record.id, true);
  removeBridge(BRIDGE, stateRoot);
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  runtime.close();
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('a started busybox container', () => {
  let record: ContainerRecord;
  beforeAll(async () => {
    record = await run({ name: 'anatomy', hostname: 'inside', memory: '64m', cpus: 0.5, pids: 64 });
  });

  test('owns every namespace it asked for and shares the rest', () => {
    const pid = record.pid!;
    for (const type of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts']) {
      expect(nsInode(pid, type), type).not.toBe(nsInode('self', type));
      expect(record.namespaces[type as 'pid'], type).toBe(nsInode(pid, type));
    }
    expect(nsInode(pid, 'user')).toBe(nsInode('self', 'user'));
    expect(record.sharedWithHost).toEqual(['user']);
  });

  test('has its hostname, its own PID 1 and only its own processes', async () => {
    expect((await execCollect(runtime, 'anatomy', ['hostname'])).stdout.trim()).toBe('inside');
    const ps = await execCollect(runtime, 'anatomy', ['ps', '-o', 'pid,comm']);
    const pids = ps.stdout.trim().split('\n').slice(1).map((line) => Number(line.trim().split(/\s+/)[0]));
    expect(pids).toContain(1);
    expect(pids.length).toBeLessThanOrEqual(4); // init, its sleep, ps (and nothing of the host)
    expect(Math.max(...pids)).toBeLessThan(100);
  });

  test('runs on the overlay after pivot_root, and writes land in the upper dir only', async () => {
    const mountinfo = readFileSync(`/proc/${record.pid}/mountinfo`, 'utf8').split('\n');
    const root = mountinfo.map((line) => line.split(' ')).find((fields) => fields[4] === '/');
    expect(root?.[root.indexOf('-') + 1]).toBe('overlay');
    expect(mountinfo.some((line) => line.includes(' /proc ') && line.includes(' - proc '))).toBe(true);
    // the host's tree is gone from the container's mount namespace, not just hidden by chroot
    expect(mountinfo.some((line) => line.includes(stateRoot) && !line.includes('overlay'))).toBe(false);
    const result = await execCollect(runtime, 'anatomy', ['sh', '-c', 'echo copy-on-write > /written-inside && cat /written-inside']);
    expect(result.stdout.trim()).toBe('copy-on-write');
    expect(readFileSync(join(record.rootfs!.upper, 'written-inside'), 'utf8').trim()).toBe('copy-on-write');
    expect(existsSync(join(record.rootfs!.lower[0]!, 'written-inside'))).toBe(false);
  });

  test('has its limits in the cgroup files', () => {
    const dirs = record.cgroup!.directories;
    const read = (file: string): string => readFileSync(file, 'utf8').trim();
    if (record.cgroup!.version === 1) {
      expect(read(join(dirs.memory!, 'memory.limit_in_bytes'))).toBe(String(64 * 1024 * 1024));
      expect(read(join(dirs.cpu!, 'cpu.cfs_quota_us'))).toBe('50000');
      expect(read(join(dirs.cpu!, 'cpu.cfs_period_us'))).toBe('100000');
      expect(read(join(dirs.pids!, 'pids.max'))).toBe('64');
      expect(read(join(dirs.memory!, 'cgroup.procs')).split('\n')).toContain(String(record.pid));
    } else {
      expect(read(join(dirs.unified!, 'memory.max'))).toBe(String(64 * 1024 * 1024));
      expect(read(join(dirs.unified!, 'cpu.max'))).toBe('50000 100000');
      expect(read(join(dirs.unified!, 'pids.max'))).toBe('64');
    }
  });

  test('exec joins all its namespaces and its cgroup, with a terminal when asked', async () => {
    const result = await execCollect(runtime, 'anatomy', ['sh', '-c', 'for t in pid mnt net; do readlink /proc/self/ns/$t; done; cat /proc/self/cgroup; tty'], { tty: true });
    expect(result.stdout).toContain(`pid:[${nsInode(record.pid!, 'pid')}]`);
    expect(result.stdout).toContain(`mnt:[${nsInode(record.pid!, 'mnt')}]`);
    expect(result.stdout).toContain(`net:[${nsInode(record.pid!, 'net')}]`);
    expect(result.stdout).toMatch(/memory:\/\r?\n/); // the cgroup namespace's root is the container's cgroup
    expect(result.stdout, result.stdout).toContain('/dev/pts/0');
    expect(result.code).toBe(0);
  });

  test('pause freezes and resume thaws', async () => {
    expect(runtime.pause('anatomy').status).toBe('paused');
    const frozen = readFileSync(join(record.cgroup!.directories.freezer ?? record.cgroup!.directories.unified!, record.cgroup!.version === 1 ? 'freezer.state' : 'cgroup.freeze'), 'utf8').trim();
    expect(['FROZEN', '1']).toContain(frozen);
    expect(runtime.resume('anatomy').status).toBe('running');
    expect((await execCollect(runtime, 'anatomy', ['true'])).code).toBe(0);
  });
});

describe('the container process', () => {
  test('is PID 1 with only stdio open, nothing blocked or ignored, and its log captured', async () => {
    const record = await run({ name: 'clean-exec', net: 'none', args: ['sh', '-c', 'echo to-the-log; exec sleep 600'] });
    const pid = record.pid!;
    await waitFor(() => readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), (comm) => comm === 'sleep');
    expect(readdirSync(`/proc/${pid}/fd`).map(Number).sort()).toEqual([0, 1, 2]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(/^SigBlk:\s*(\w+)$/m.exec(status)![1]).toMatch(/^0+$/);
    expect(/^SigIgn:\s*(\w+)$/m.exec(status)![1]).toMatch(/^0+$/);
    expect(/^NSpid:\s*(.*)$/m.exec(status)![1]!.split(/\s+/).pop()).toBe('1');
    expect(runtime.logs('clean-exec').toString()).toContain('to-the-log');
  });

  test('a missing program is a clear error and leaves nothing', async () => {
    await expect(runtime.run({ name: 'no-such', net: 'none', args: ['no-such-program'] })).rejects.toThrow(/executable "no-such-program" not found/);
    expect(runtime.list().some((c) => c.name === 'no-such')).toBe(false);
  });
});

describe('limits enforced by the kernel', () => {
  test('a process allocating past 64 MiB is OOM-killed and the record says so', async () => {
    const record = await run({ name: 'oom', memory: '64m', net: 'none', args: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=200M', 'count=1'] });
    const stopped = await waitFor(() => runtime.inspect(record.id), (r) => r.status === 'stopped');
    expect(stopped.exitCode).toBe(137);
    expect(stopped.oomKilled).toBe(true);
    expect(stopped.cgroup!.usage!.oomKills).toBeGreaterThanOrEqual(1);
  });

  test('a pids limit stops a fork bomb', async () => {
    const record = await run({ name: 'forks', pids: 16, net: 'none' });
    const result = await execCollect(runtime, 'forks', ['sh', '-c', 'i=0; while [ $i -lt 40 ]; do sleep 30 >/dev/null 2>&1 & i=$((i+1)); done; echo spawned']);
    expect(result.stderr).toMatch(/fork|Resource temporarily unavailable/i);
    const dirs = record.cgroup!.directories;
    const pidsDir = dirs.pids ?? dirs.unified!;
    expect(Number(readFileSync(join(pidsDir, 'pids.current'), 'utf8'))).toBeLessThanOrEqual(16);
    expect(readFileSync(join(pidsDir, 'pids.events'), 'utf8')).toMatch(/max [1-9]/);
  });
});

describe('networking', () => {
  test('two bridged containers reach each other and the bridge', async () => {
    const a = await run({ name: 'net-a', net: 'bridge' });
    const b = await run({ name: 'net-b', net: 'bridge' });
    expect(a.network.ip).not.toBe(b.network.ip);
    expect((await execCollect(runtime, 'net-a', ['ping', '-c', '1', '-W', '2', b.network.ip!])).code).toBe(0);
    expect((await execCollect(runtime, 'net-b', ['ping', '-c', '1', '-W', '2', a.network.ip!])).code).toBe(0);
    expect((await execCollect(runtime, 'net-a', ['ping', '-c', '1', '-W', '2', a.network.gateway!])).code).toBe(0);
  });

  test('--net none has only loopback; --net host shares the host namespace', async () => {
    const none = await run({ name: 'net-none', net: 'none' });
    const links = await execCollect(runtime, 'net-none', ['ip', '-o', 'link']);
    expect(links.stdout.trim().split('\n').map((line) => line.split(':')[1]!.trim())).toEqual(['lo']);
    const host = await run({ name: 'net-host', net: 'host' });
    expect(nsInode(host.pid!, 'net')).toBe(nsInode('self', 'net'));
    expect(nsInode(none.pid!, 'net')).not.toBe(nsInode('self', 'net'));
  });
});

describe('user namespace', () => {
  test('container root is an unprivileged host uid', async () => {
    const record = await run({ name: 'userns', userns: true, net: 'none' });
    expect(readFileSync(`/proc/${record.pid}/uid_map`, 'utf8').trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
    const uidLine = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${record.pid}/status`, 'utf8'))![1]!;
    expect(uidLine.split(/\s+/)[0]).toBe('100000');
    expect(nsInode(record.pid!, 'user')).not.toBe(nsInode('self', 'user'));
    const inside = await execCollect(runtime, 'userns', ['sh', '-c', 'id -u; touch /root/mine && ls -ln /root/mine']);
    expect(inside.stdout.split('\n')[0]).toBe('0');
    expect(inside.stdout).toMatch(/ 0 +0 /);
  });
});

describe('lifecycle', () => {
  test('stop records the exit code; rm leaves nothing behind', async () => {
    const record = await run({ name: 'short', net: 'bridge' });
    const stopped = await runtime.stop('short', 5);
    expect(stopped.status).toBe('stopped');
    expect(stopped.exitCode).toBe(0); // the idle shell exits 0 on SIGTERM
    await runtime.remove('short');
    expect(leftovers(stateRoot, [record])).toEqual(NONE_LEFT);
    made.splice(made.indexOf(record), 1);
  });

  test('a SIGTERM that arrives before PID 1 has its handler is sent again once it has one', async () => {
    // PID 1 of a PID namespace drops a signal it has no handler for: this shell sets up its TERM
    // trap only after a pause, so the first SIGTERM is lost and only a second one can end it well
    const script = "sleep 2; trap 'kill $! 2>/dev/null; exit 0' TERM; while :; do sleep 3600 & wait $!; done";
    const record = await run({ name: 'late-trap', net: 'none', args: ['sh', '-c', script] });
    const caught = BigInt(`0x${/^SigCgt:\s*(\S+)$/m.exec(readFileSync(`/proc/${record.pid}/status`, 'utf8'))![1]}`);
    expect((caught >> 14n) & 1n).toBe(0n); // SIGTERM is signal 15, bit 14: no handler yet
    const stopped = await runtime.stop('late-trap', 30);
    expect(stopped.exitCode).toBe(0); // the trap's exit, not 137 from the SIGKILL at the deadline
    await runtime.remove('late-trap');
    expect(leftovers(stateRoot, [record])).toEqual(NONE_LEFT);
    made.splice(made.indexOf(record), 1);
  });
});

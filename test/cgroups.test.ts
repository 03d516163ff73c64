/*
 * cgroups on this machine's v1 hierarchies (the CI host is a v1/v2 hybrid whose memory, cpu,
 * cpuacct, pids and freezer controllers are v1). Every assertion that matters reads the kernel's
 * own files (/sys/fs/cgroup/…, /proc/<pid>/cgroup, /proc/<pid>/stat), not only what the module says.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openCgroupHost, type Cgroup } from '../agent/runtime/cgroups';
import { LabError } from '../agent/errors';
import type { CgroupLimits } from '../agent/protocol';

const MiB = 1024 * 1024;
const PREFIX = `cgt-v1-${process.pid}`;
const LIMITS: CgroupLimits = { memoryBytes: 64 * MiB, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pids: 16 };
const UNLIMITED: CgroupLimits = { memoryBytes: null, cpuQuotaUs: null, cpuPeriodUs: 100_000, pids: null };
const BUSYBOX = fs.existsSync('/bin/busybox') ? '/bin/busybox' : 'busybox';

const host = openCgroupHost();
const cgroups: Cgroup[] = [];
const children: ChildProcess[] = [];

function make(suffix: string, limits: CgroupLimits = LIMITS): Cgroup {
  const cgroup = host.create(`${PREFIX}-${suffix}`, limits);
  cgroups.push(cgroup);
  return cgroup;
}

function start(args: string[], stdin: 'pipe' | 'ignore' = 'ignore'): ChildProcess {
  const child = spawn(args[0]!, args.slice(1), { stdio: [stdin, 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const read = (file: string): string => fs.readFileSync(file, 'utf8').trim();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** This process's cgroup per v1 controller, straight from the kernel. */
function ownPaths(): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of read('/proc/self/cgroup').split('\n')) {
    const [, controllers, cgroupPath] = line.split(':');
    for (const controller of controllers!.split(',')) if (controller) paths.set(controller, cgroupPath!);
  }
  return paths;
}

/** Every place a cgroup of this file could be: "<mount>/<own>/containers-lab/<name>" per controller. */
function expectedDirectory(controller: string, name: string): string {
  const mount = read('/proc/self/mountinfo').split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[fields.indexOf('-') + 1] === 'cgroup' && fields[fields.indexOf('-') + 3]!.split(',').includes(controller));
  const own = ownPaths().get(controller)!;
  return path.join(mount![4]!, own, 'containers-lab', name);
}

function leftovers(name: string): string[] {
  return ['memory', 'cpu', 'cpuacct', 'pids', 'freezer'].map((controller) => expectedDirectory(controller, name)).filter((dir) => fs.existsSync(dir));
}

function cleanUp(): void {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const cgroup of cgroups.splice(0)) {
    try {
      cgroup.killAll();
    } catch {
      // already destroyed
    }
    cgroup.destroy();
  }
}

afterEach(cleanUp);
afterAll(cleanUp);

describe('cgroup v1 (this host)', () => {
  it('discovers the hybrid layout from mountinfo and picks v1 for the real controllers', () => {
    expect(host.mode).toBe('hybrid');
    expect(host.version).toBe(1);
    expect(host.controllers).toEqual(expect.arrayContaining(['memory', 'cpu', 'pids', 'freezer']));
    const memory = host.layout.v1.find((hierarchy) => hierarchy.controllers.includes('memory'))!;
    expect(memory.ownPath).toBe(ownPaths().get('memory'));
  });

  it('creates the cgroup under our own cgroup in each hierarchy, with the limits in the kernel files', () => {
    const name = `${PREFIX}-limits`;
    const cgroup = make('limits');
    const memory = expectedDirectory('memory', name);
    expect(read(path.join(memory, 'memory.limit_in_bytes'))).toBe(String(64 * MiB));
    expect(read(path.join(expectedDirectory('cpu', name), 'cpu.cfs_quota_us'))).toBe('50000');
    expect(read(path.join(expectedDirectory('cpu', name), 'cpu.cfs_period_us'))).toBe('100000');
    expect(read(path.join(expectedDirectory('pids', name), 'pids.max'))).toBe('16');
    expect(fs.existsSync(path.join(expectedDirectory('freezer', name), 'freezer.state'))).toBe(true);
    expect(cgroup.path).toBe(path.posix.join(ownPaths().get('memory')!, 'containers-lab', name));

    const record = cgroup.record();
    expect(record.version).toBe(1);
    expect(record.limits).toEqual(LIMITS);
    expect(record.files.memory).toBe(path.join(memory, 'memory.limit_in_bytes'));
    expect(record.files.pids).toBe(path.join(expectedDirectory('pids', name), 'pids.max'));

    // Lifting limits writes the kernel's "unlimited" spellings.
    cgroup.setLimits(UNLIMITED);
    expect(Number(read(path.join(memory, 'memory.limit_in_bytes')))).toBeGreaterThan(2 ** 62);
    expect(read(path.join(expectedDirectory('cpu', name), 'cpu.cfs_quota_us'))).toBe('-1');
    expect(read(path.join(expectedDirectory('pids', name), 'pids.max'))).toBe('max');
    expect(cgroup.limits()).toEqual(UNLIMITED);
  });

  it('adds a process to every hierarchy, as /proc/<pid>/cgroup shows', async () => {
    const name = `${PREFIX}-procs`;
    const cgroup = make('procs');
    const child = start([BUSYBOX, 'sleep', '1000']);
    cgroup.addProcess(child.pid!);
    const lines = read(`/proc/${child.pid}/cgroup`).split('\n');
    for (const controller of ['memory', 'cpu', 'cpuacct', 'pids', 'freezer']) {
      const line = lines.find((entry) => entry.split(':')[1]!.split(',').includes(controller))!;
      expect(line.split(':')[2]).toBe(path.posix.join(ownPaths().get(controller)!, 'containers-lab', name));
    }
    expect(cgroup.processes()).toEqual([child.pid]);
    expect(cgroup.usage().pidsCurrent).toBe(1);
    expect(host.forProcess(child.pid!)!.path).toBe(cgroup.path);
    expect(host.open(cgroup.record()).processes()).toEqual([child.pid]);

    cgroup.killAll();
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(read(path.join(expectedDirectory('pids', name), 'cgroup.procs'))).toBe('');
  });

  it('a single-threaded process moves itself into every hierarchy through membershipFiles (v1 tasks, the cgroup2 part\'s cgroup.procs)', async () => {
    const name = `${PREFIX}-self`;
    const cgroup = make('self');
    const files = cgroup.membershipFiles();
    const unified = cgroup.record().directories.unified;
    // v1's tasks moves the writing thread without the host-wide lock (agent/runtime/cgroups/v1.ts); cgroup2 has no tasks file.
    for (const file of files) expect(path.basename(file)).toBe(path.dirname(file) === unified ? 'cgroup.procs' : 'tasks');
    expect(files.filter((file) => path.basename(file) === 'tasks').length).toBeGreaterThanOrEqual(5);
    // busybox sh's echo is a builtin: the shell itself writes "0", then reports where it is.
    const child = start([BUSYBOX, 'sh', '-c', `for f in ${files.join(' ')}; do echo 0 > $f || exit 1; done; cat /proc/$$/cgroup`]);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    const lines = output.trim().split('\n');
    for (const controller of ['memory', 'cpu', 'cpuacct', 'pids', 'freezer']) {
      const line = lines.find((entry) => entry.split(':')[1]!.split(',').includes(controller))!;
      expect(line.split(':')[2]).toBe(path.posix.join(ownPaths().get(controller)!, 'containers-lab', name));
    }
    if (unified) expect(path.join(host.layout.v2!.mountPoint, lines.find((entry) => entry.startsWith('0::'))!.slice(3))).toBe(unified);
  });

  it('OOM-kills a process that allocates past 64 MiB and counts it', async () => {
    const cgroup = make('oom');
    // The shell waits for a line on stdin, so it is in the cgroup before dd allocates 200 MB.
    const child = start([BUSYBOX, 'sh', '-c', `read go; exec ${BUSYBOX} dd if=/dev/zero of=/dev/null bs=200M count=1`], 'pipe');
    cgroup.addProcess(child.pid!);
    child.stdin!.write('go\n');
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGKILL' });
    const usage = cgroup.usage();
    expect(usage.oomKills).toBeGreaterThanOrEqual(1);
    expect(usage.memoryPeakBytes).toBeGreaterThan(32 * MiB);
    expect(usage.memoryPeakBytes).toBeLessThanOrEqual(64 * MiB);
    // The kernel's own counter, read directly.
    expect(read(path.join(cgroup.record().directories.memory!, 'memory.oom_control'))).toMatch(/oom_kill [1-9]/);
  });

  it('a pids limit stops a fork loop', async () => {
    const cgroup = make('pids');
    const script = `read go; i=0; while [ $i -lt 40 ]; do ${BUSYBOX} sleep 30 & i=$((i+1)); done; echo spawned; wait`;
    const child = start([BUSYBOX, 'sh', '-c', script], 'pipe');
    let stderr = '';
    child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
    cgroup.addProcess(child.pid!);
    child.stdin!.write('go\n');
    await sleep(1000);
    const pidsDir = cgroup.record().directories.pids!;
    expect(Number(read(path.join(pidsDir, 'pids.current')))).toBeLessThanOrEqual(16);
    expect(cgroup.processes().length).toBeLessThanOrEqual(16);
    expect(cgroup.processes().length).toBeGreaterThan(8);
    // pids.events counts the forks the limit refused.
    expect(Number(read(path.join(pidsDir, 'pids.events')).split(' ')[1])).toBeGreaterThan(0);
    expect(stderr).toMatch(/fork|Resource temporarily unavailable/i);
    cgroup.killAll();
    expect(cgroup.processes()).toEqual([]);
    await exited(child);
  });

  it('freezes and thaws: the task stops (state D, FROZEN, no CPU time) and runs again', async () => {
    const cgroup = make('freeze', UNLIMITED);
    const child = start([BUSYBOX, 'sh', '-c', 'while :; do :; done']);
    cgroup.addProcess(child.pid!);
    await sleep(100);
    const state = (): string => read(`/proc/${child.pid}/stat`).split(') ')[1]!.split(' ')[0]!;
    cgroup.freeze();
    expect(read(cgroup.record().files.freezer!)).toBe('FROZEN');
    expect(state()).toBe('D');
    expect(cgroup.usage().frozen).toBe(true);
    const frozenCpu = cgroup.usage().cpuUsageNs;
    await sleep(200);
    expect(cgroup.usage().cpuUsageNs).toBe(frozenCpu);

    cgroup.thaw();
    expect(read(cgroup.record().files.freezer!)).toBe('THAWED');
    await sleep(200);
    expect(state()).toBe('R');
    expect(cgroup.usage().cpuUsageNs).toBeGreaterThan(frozenCpu);

    // killAll works on a frozen group too (SIGKILL first, then thaw).
    cgroup.freeze();
    cgroup.killAll();
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(cgroup.processes()).toEqual([]);
  });

  it('a cpu quota of 0.5 CPU holds a busy loop to about half a CPU', async () => {
    const cgroup = make('cpu', { ...UNLIMITED, cpuQuotaUs: 50_000 });
    const child = start([BUSYBOX, 'sh', '-c', 'while :; do :; done']);
    cgroup.addProcess(child.pid!);
    const before = cgroup.usage().cpuUsageNs;
    const startedAt = process.hrtime.bigint();
    await sleep(1000);
    const used = cgroup.usage().cpuUsageNs - before;
    const elapsed = Number(process.hrtime.bigint() - startedAt);
    expect(used / elapsed).toBeLessThan(0.62);
    expect(used / elapsed).toBeGreaterThan(0.05); // it ran; other test files may share the CPUs
    const cpuDir = cgroup.record().directories.cpu!;
    expect(read(path.join(cpuDir, 'cpu.stat'))).toMatch(/nr_throttled [1-9]/);
  });

  it('destroy removes every directory and is idempotent', () => {
    const name = `${PREFIX}-destroy`;
    const cgroup = host.create(name, LIMITS);
    const directories = Object.values(cgroup.record().directories);
    expect(directories.every((dir) => fs.existsSync(dir))).toBe(true);
    cgroup.destroy();
    expect(directories.filter((dir) => fs.existsSync(dir))).toEqual([]);
    expect(leftovers(name)).toEqual([]);
    expect(() => cgroup.destroy()).not.toThrow();
    expect(cgroup.record().usage).toBeNull();
  });

  it('refuses an existing name without touching it', () => {
    const cgroup = make('dup');
    expect(() => host.create(`${PREFIX}-dup`, UNLIMITED)).toThrow(/already exists/);
    expect(read(path.join(cgroup.record().directories.memory!, 'memory.limit_in_bytes'))).toBe(String(64 * MiB));
  });

  it('rejects bad names and absurd limits with one-line errors, creating nothing', () => {
    const badNames = ['../escape', 'a/b', '', '..', '.', 'x..y', 'sp ace', 'x'.repeat(200)];
    for (const name of badNames) {
      expect(() => host.create(name, LIMITS)).toThrowError(expect.objectContaining({ kind: 'bad-input' }) as Error);
    }
    const badLimits: [Partial<CgroupLimits>, RegExp][] = [
      [{ memoryBytes: 1000 }, /memory limit 1000 bytes is too small/],
      [{ memoryBytes: -1 }, /too small/],
      [{ memoryBytes: Number.NaN }, /invalid memory limit NaN/],
      [{ memoryBytes: 1.5 * MiB * 10 + 0.5 }, /whole number/],
      [{ cpuQuotaUs: 500 }, /cpu quota 500us is too small/],
      [{ cpuPeriodUs: 0 }, /invalid cpu period/],
      [{ pids: 0 }, /pids limit 0 is out of range/],
      [{ pids: -5 }, /out of range/],
      [{ pids: 2.5 }, /whole number/],
    ];
    badLimits.forEach(([change, message], index) => {
      const name = `${PREFIX}-bad${index}`;
      let error: unknown;
      try {
        host.create(name, { ...LIMITS, ...change });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(LabError);
      expect((error as LabError).kind).toBe('bad-input');
      expect((error as LabError).message).toMatch(message);
      expect((error as LabError).message).not.toContain('\n');
      expect(leftovers(name)).toEqual([]);
    });
    expect(() => host.open({ ...make('rec').record(), directories: { memory: '/etc/passwd' } })).toThrow(/not inside a cgroup v1 mount/);
    // A record's floors (where removal stops) come from disk too: one that would let destroy()
    // climb out of a cgroup mount, or that is not above its directory, is refused.
    const record = make('floors').record();
    const [directory] = Object.values(record.directories) as [string];
    for (const floor of ['/', '/sys/fs', '/sys/fs/cgroup/../..', `${directory}/below`, '/tmp']) {
      expect(() => host.open({ ...record, floors: { [directory]: floor } })).toThrow(/^cgroup record floor .* is not above .* in a cgroup mount$/);
    }
    expect(fs.existsSync(directory)).toBe(true);
  });

  it('says "unsupported" for a limit whose controller is absent, creating nothing', () => {
    // The same host as seen through a mountinfo without the pids hierarchy.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cgt-v1-'));
    try {
      const mountinfo = read('/proc/self/mountinfo').split('\n').filter((line) => !/ - cgroup \S+ \S*\bpids\b/.test(line)).join('\n');
      fs.writeFileSync(path.join(dir, 'mountinfo'), mountinfo);
      const noPids = openCgroupHost({ mountinfoPath: path.join(dir, 'mountinfo') });
      expect(noPids.controllers).not.toContain('pids');
      const name = `${PREFIX}-nopids`;
      let error: unknown;
      try {
        noPids.create(name, LIMITS);
      } catch (caught) {
        error = caught;
      }
      expect((error as LabError).kind).toBe('unsupported');
      expect((error as LabError).message).toMatch(/^cgroup controller "pids" is not available on this host \(v1 hierarchies: .*memory/);
      expect(leftovers(name)).toEqual([]);
      // Without a pids limit the same host creates the cgroup, minus the pids hierarchy.
      const cgroup = noPids.create(name, { ...LIMITS, pids: null });
      cgroups.push(cgroup);
      expect(cgroup.record().directories.pids).toBeUndefined();
      expect(() => cgroup.setLimits(LIMITS)).toThrow(/"pids" is not available/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

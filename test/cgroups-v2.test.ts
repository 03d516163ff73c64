/*
 * cgroup v2, as far as this hybrid machine allows.
 *
 * Real kernel: this host's cgroup2 hierarchy (/sys/fs/cgroup/unified, found through mountinfo)
 * has no memory/cpu/pids controllers, but every v2 core file is real there: cgroup.procs,
 * cgroup.freeze + cgroup.events, cgroup.kill, cpu.stat, cgroup.subtree_control with the
 * "no internal processes" rule (exercised with the one controller it offers, hugetlb).
 * Unit level only: discovery from synthetic mountinfo of a pure-v2 host (the Debian 12 lab VM),
 * and the v2 limit/usage file formats (memory.max, cpu.max, pids.max, memory.events, memory.peak
 * fallback), checked against plain files because no cgroup2 here carries those controllers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openCgroupHost, layoutFrom, type Cgroup, type CgroupHost } from '../agent/runtime/cgroups';
import { directoryOf, describeLayout } from '../agent/runtime/cgroups/discovery';
import { parseLimitValue } from '../agent/runtime/cgroups/limits';
import { ownCgroupFrom } from '../agent/runtime/cgroups/placement';
import { CgroupV2 } from '../agent/runtime/cgroups/v2';
import { removeDirectory } from '../agent/runtime/cgroups/cgroupfs';
import { LabError } from '../agent/errors';
import type { CgroupLimits } from '../agent/protocol';

const MiB = 1024 * 1024;
const PREFIX = `cgt-v2-${process.pid}`;
const UNLIMITED: CgroupLimits = { memoryBytes: null, cpuQuotaUs: null, cpuPeriodUs: 100_000, pids: null };
const BUSYBOX = fs.existsSync('/bin/busybox') ? '/bin/busybox' : 'busybox';

const read = (file: string): string => fs.readFileSync(file, 'utf8').trim();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Discovery from synthetic mountinfo.

const DEBIAN12_MOUNTINFO = [
  '22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
  '28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro',
].join('\n');
const DEBIAN12_CGROUP = '0::/system.slice/containers-lab.service\n';

const HYBRID_MOUNTINFO = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer',
  '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  // The same memory hierarchy bind-mounted again, showing only a subtree: must not win.
  '90 1 0:32 /process_api /mnt/mem\\040view rw,relatime - cgroup cgroup rw,memory',
].join('\n');
const HYBRID_CGROUP = [
  '9:name=systemd:/',
  '8:pids:/',
  '6:freezer:/',
  '4:memory:/process_api/71fa',
  '2:cpu,cpuacct:/jobs/7',
  '0::/',
].join('\n');

const V1_ONLY_MOUNTINFO = [
  '32 31 0:29 / /cg/memory rw - cgroup cgroup rw,memory',
  '33 31 0:30 / /cg/pids rw - cgroup cgroup rw,pids',
].join('\n');

describe('discovery from mountinfo (synthetic)', () => {
  it('pure v2 like the Debian 12 lab VM', () => {
    const layout = layoutFrom(DEBIAN12_MOUNTINFO, DEBIAN12_CGROUP, () => ['cpuset', 'cpu', 'io', 'memory', 'pids']);
    expect(layout.mode).toBe(2);
    expect(layout.v1).toEqual([]);
    expect(layout.v2).toMatchObject({ mountPoint: '/sys/fs/cgroup', mountRoot: '/', ownPath: '/system.slice/containers-lab.service' });
    expect(directoryOf(layout.v2!, '/system.slice/containers-lab.service/containers-lab/web'))
      .toBe('/sys/fs/cgroup/system.slice/containers-lab.service/containers-lab/web');
    expect(describeLayout(layout)).toBe('cgroup2 at /sys/fs/cgroup offers: cpuset, cpu, io, memory, pids');
  });

  it('hybrid like this machine: v1 controllers (co-mounted too), named hierarchy, near-empty cgroup2', () => {
    const layout = layoutFrom(HYBRID_MOUNTINFO, HYBRID_CGROUP, () => ['hugetlb']);
    expect(layout.mode).toBe('hybrid');
    const byMount = Object.fromEntries(layout.v1.map((hierarchy) => [hierarchy.mountPoint, hierarchy]));
    expect(byMount['/sys/fs/cgroup/cpu,cpuacct']).toMatchObject({ controllers: ['cpu', 'cpuacct'], ownPath: '/jobs/7' });
    expect(byMount['/sys/fs/cgroup/memory']).toMatchObject({ controllers: ['memory'], ownPath: '/process_api/71fa', mountRoot: '/' });
    expect(byMount['/sys/fs/cgroup/systemd']).toMatchObject({ controllers: [], name: 'systemd' });
    expect(byMount['/mnt/mem view']).toBeUndefined();
    expect(layout.v2).toMatchObject({ mountPoint: '/sys/fs/cgroup/unified', controllers: ['hugetlb'], ownPath: '/' });
    expect(describeLayout(layout)).toMatch(/^v1 hierarchies: cpu, cpuacct, freezer, memory, pids; cgroup2 at \/sys\/fs\/cgroup\/unified offers: hugetlb$/);
  });

  it('v1 only', () => {
    const layout = layoutFrom(V1_ONLY_MOUNTINFO, '5:memory:/a\n3:pids:/b\n', () => []);
    expect(layout.mode).toBe(1);
    expect(layout.v2).toBeNull();
    expect(layout.v1.map((hierarchy) => [hierarchy.mountPoint, hierarchy.ownPath])).toEqual([['/cg/memory', '/a'], ['/cg/pids', '/b']]);
  });

  it('a mount that shows only a subtree maps paths inside it and refuses paths outside', () => {
    const layout = layoutFrom('50 1 0:40 /lab /sys/fs/cgroup rw - cgroup2 cgroup2 rw', '0::/lab/agent\n', () => ['memory']);
    expect(directoryOf(layout.v2!, '/lab/agent/containers-lab/x')).toBe('/sys/fs/cgroup/agent/containers-lab/x');
    expect(directoryOf(layout.v2!, '/lab')).toBe('/sys/fs/cgroup');
    expect(directoryOf(layout.v2!, '/elsewhere')).toBeNull();
    expect(directoryOf(layout.v2!, '/labx')).toBeNull();
  });

  it('a process that moved itself into the agent leaf still places containers beside it', () => {
    expect(ownCgroupFrom('/system.slice/x.service/containers-lab-agent')).toBe('/system.slice/x.service');
    expect(ownCgroupFrom('/containers-lab-agent')).toBe('/');
    expect(ownCgroupFrom('/system.slice/x.service')).toBe('/system.slice/x.service');
  });

  it('openCgroupHost reads given mountinfo and cgroup files: pure v2 host chooses v2', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cgt-v2-'));
    try {
      fs.writeFileSync(path.join(dir, 'mountinfo'), DEBIAN12_MOUNTINFO);
      fs.writeFileSync(path.join(dir, 'cgroup'), DEBIAN12_CGROUP);
      const host = openCgroupHost({ mountinfoPath: path.join(dir, 'mountinfo'), procCgroupPath: path.join(dir, 'cgroup') });
      expect(host.mode).toBe(2);
      expect(host.version).toBe(2);
      expect(host.layout.v2!.ownPath).toBe('/system.slice/containers-lab.service');
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('finds a cgroup2 mounted at an unusual place in a private mount namespace (real mountinfo)', () => {
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'cgt-v2-mnt-'));
    try {
      const result = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t cgroup2 none ${target} && cat /proc/self/mountinfo && cat /proc/self/cgroup >&2`], { encoding: 'utf8' });
      expect(result.status).toBe(0);
      const layout = layoutFrom(result.stdout.split('\n').filter((line) => !line.includes(' /sys/fs/cgroup/unified ')).join('\n'), result.stderr, (mountPoint) => read(path.join(mountPoint === target ? '/sys/fs/cgroup/unified' : mountPoint, 'cgroup.controllers')).split(' '));
      expect(layout.v2!.mountPoint).toBe(target);
      expect(layout.v2!.controllers).toEqual(['hugetlb']);
      // The mount namespace is gone with its process: nothing is mounted here any more.
      expect(read('/proc/self/mountinfo')).not.toContain(target);
    } finally {
      fs.rmdirSync(target);
    }
  });
});

describe('limit conversions', () => {
  it('reads the kernel\'s unlimited spellings', () => {
    expect(parseLimitValue('max\n')).toBeNull();
    expect(parseLimitValue('-1')).toBeNull();
    expect(parseLimitValue('9223372036854771712')).toBeNull();
    expect(parseLimitValue('67108864\n')).toBe(64 * MiB);
  });
});

describe('v2 file formats (plain files standing in for memory/cpu/pids controllers absent here)', () => {
  it('writes memory.max, memory.swap.max, cpu.max, pids.max and reads usage with the memory.peak fallback', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cgt-v2-files-'));
    try {
      const files: Record<string, string> = {
        'memory.max': 'max\n', 'memory.swap.max': 'max\n', 'cpu.max': 'max 100000\n', 'pids.max': 'max\n',
        'memory.current': '1000\n', 'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n',
        'cpu.stat': 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n', 'pids.current': '3\n',
        'cgroup.events': 'populated 1\nfrozen 0\n', 'cgroup.procs': '10\n11\n',
      };
      for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
      const cgroup = new CgroupV2('/containers-lab/x', dir, 'test');
      cgroup.setLimits({ memoryBytes: 64 * MiB, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pids: 16 });
      expect(read(path.join(dir, 'memory.max'))).toBe(String(64 * MiB));
      expect(read(path.join(dir, 'memory.swap.max'))).toBe('0');
      expect(read(path.join(dir, 'cpu.max'))).toBe('50000 100000');
      expect(read(path.join(dir, 'pids.max'))).toBe('16');
      expect(cgroup.limits()).toEqual({ memoryBytes: 64 * MiB, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pids: 16 });
      // No memory.peak (kernel 6.1): the peak is the highest memory.current seen.
      expect(cgroup.usage()).toEqual({ memoryCurrentBytes: 1000, memoryPeakBytes: 1000, cpuUsageNs: 2_500_000, pidsCurrent: 3, oomKills: 1, frozen: false });
      fs.writeFileSync(path.join(dir, 'memory.current'), '400\n');
      expect(cgroup.usage().memoryPeakBytes).toBe(1000);
      fs.writeFileSync(path.join(dir, 'memory.peak'), '5000\n');
      expect(cgroup.usage().memoryPeakBytes).toBe(5000);
      expect(cgroup.processes()).toEqual([10, 11]);
      expect(cgroup.record().files).toMatchObject({ memory: path.join(dir, 'memory.max'), cpu: path.join(dir, 'cpu.max'), pids: path.join(dir, 'pids.max') });
      cgroup.setLimits(UNLIMITED);
      expect(read(path.join(dir, 'memory.max'))).toBe('max');
      expect(read(path.join(dir, 'cpu.max'))).toBe('max 100000');
      expect(cgroup.limits()).toEqual(UNLIMITED);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The real cgroup2 hierarchy of this host.

const unifiedHost: CgroupHost = openCgroupHost({ version: 2 });
const unified = unifiedHost.layout.v2!.mountPoint;
const cgroups: Cgroup[] = [];
const children: ChildProcess[] = [];
const cleanups: (() => void)[] = [];

function start(args: string[]): ChildProcess {
  const child = spawn(args[0]!, args.slice(1), { stdio: 'ignore' });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function cleanUp(): void {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const cgroup of cgroups.splice(0)) {
    cgroup.killAll();
    cgroup.destroy();
  }
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
}

afterEach(cleanUp);
afterAll(cleanUp);

function ownV2Path(): string {
  return read('/proc/self/cgroup').split('\n').find((line) => line.startsWith('0::'))!.slice(3);
}

describe('cgroup v2 on this host\'s cgroup2 mount', () => {
  it('creates under our own v2 cgroup, adds a process, freezes, thaws, kills with cgroup.kill, destroys', async () => {
    const name = `${PREFIX}-life`;
    const cgroup = unifiedHost.create(name, UNLIMITED);
    cgroups.push(cgroup);
    const cgroupPath = path.posix.join(ownV2Path(), 'containers-lab', name);
    const directory = path.join(unified, cgroupPath);
    expect(cgroup.version).toBe(2);
    expect(cgroup.path).toBe(cgroupPath);
    expect(cgroup.record().directories).toEqual({ unified: directory });
    expect(fs.existsSync(path.join(directory, 'cgroup.procs'))).toBe(true);

    const child = start([BUSYBOX, 'sh', '-c', 'while :; do :; done']);
    cgroup.addProcess(child.pid!);
    expect(read(`/proc/${child.pid}/cgroup`).split('\n')).toContain(`0::${cgroupPath}`);
    expect(read(path.join(directory, 'cgroup.procs'))).toBe(String(child.pid));
    expect(unifiedHost.forProcess(child.pid!)!.path).toBe(cgroupPath);

    await sleep(100);
    cgroup.freeze();
    expect(read(path.join(directory, 'cgroup.freeze'))).toBe('1');
    expect(read(path.join(directory, 'cgroup.events'))).toContain('frozen 1');
    const state = (): string => read(`/proc/${child.pid}/stat`).split(') ')[1]!.split(' ')[0]!;
    expect(state()).not.toBe('R');
    const frozenCpu = cgroup.usage().cpuUsageNs;
    await sleep(200);
    expect(cgroup.usage()).toMatchObject({ frozen: true, cpuUsageNs: frozenCpu });

    cgroup.thaw();
    expect(read(path.join(directory, 'cgroup.events'))).toContain('frozen 0');
    await sleep(200);
    expect(state()).toBe('R');
    expect(cgroup.usage().cpuUsageNs).toBeGreaterThan(frozenCpu);

    expect(fs.existsSync(path.join(directory, 'cgroup.kill'))).toBe(true);
    cgroup.freeze();
    cgroup.killAll();
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(read(path.join(directory, 'cgroup.events'))).toContain('populated 0');

    cgroup.destroy();
    expect(fs.existsSync(directory)).toBe(false);
    expect(() => cgroup.destroy()).not.toThrow();
    const reopened = unifiedHost.open({ ...cgroup.record(), directories: { unified: directory } });
    expect(reopened.record().usage).toBeNull();
  });

  it('asks for memory/cpu/pids limits where cgroup2 lacks them: one-line "unsupported", nothing created', () => {
    const cases: [Partial<CgroupLimits>, string][] = [[{ memoryBytes: 64 * MiB }, 'memory'], [{ cpuQuotaUs: 50_000 }, 'cpu'], [{ pids: 16 }, 'pids']];
    for (const [change, controller] of cases) {
      const name = `${PREFIX}-unsup-${controller}`;
      let error: unknown;
      try {
        unifiedHost.create(name, { ...UNLIMITED, ...change });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(LabError);
      expect((error as LabError).kind).toBe('unsupported');
      expect((error as LabError).message).toMatch(new RegExp(`^cgroup controller "${controller}" is not available on this host \\(.*cgroup2 at ${unified} offers: hugetlb\\)$`));
      expect(fs.existsSync(path.join(unified, ownV2Path(), 'containers-lab', name))).toBe(false);
    }
    const cgroup = unifiedHost.create(`${PREFIX}-later`, UNLIMITED);
    cgroups.push(cgroup);
    expect(() => cgroup.setLimits({ ...UNLIMITED, memoryBytes: 64 * MiB })).toThrow(/controller "memory" is not available/);
  });

  it('enables controllers top-down and moves the processes of our own cgroup into a leaf (no internal processes)', async () => {
    // A stand-in for the agent's own cgroup, holding a process, as a systemd service's would.
    const own = `/${PREFIX}-own`;
    const ownDirectory = path.join(unified, own);
    const rootControl = path.join(unified, 'cgroup.subtree_control');
    const rootHadHugetlb = read(rootControl).split(' ').includes('hugetlb');
    fs.mkdirSync(ownDirectory);
    cleanups.push(() => {
      // removeDirectory retries while the SIGKILLed resident is still leaving.
      for (const leaf of ['containers-lab', 'containers-lab-agent']) removeDirectory(path.join(ownDirectory, leaf));
      removeDirectory(ownDirectory);
      if (!rootHadHugetlb) {
        try {
          fs.writeFileSync(rootControl, '-hugetlb');
        } catch {
          // another user enabled it for its own children meanwhile: leave it on
        }
      }
    });
    const resident = start([BUSYBOX, 'sleep', '1000']);
    fs.writeFileSync(path.join(ownDirectory, 'cgroup.procs'), String(resident.pid));
    cleanups.push(() => {
      resident.kill('SIGKILL');
    });

    // The kernel's rule, seen directly: a cgroup with a process cannot hand out controllers.
    if (!rootHadHugetlb) fs.writeFileSync(rootControl, '+hugetlb');
    expect(() => fs.writeFileSync(path.join(ownDirectory, 'cgroup.subtree_control'), '+hugetlb')).toThrow(/EBUSY/);

    const host = openCgroupHost({ version: 2, ownCgroupPath: own, v2Controllers: ['hugetlb'] });
    const cgroup = host.create(`${PREFIX}-leaf`, UNLIMITED);
    cgroups.push(cgroup);
    const directory = cgroup.record().directories.unified!;
    expect(directory).toBe(path.join(ownDirectory, 'containers-lab', `${PREFIX}-leaf`));
    expect(read(path.join(directory, 'cgroup.controllers'))).toBe('hugetlb');
    expect(fs.readdirSync(directory).some((file) => file.startsWith('hugetlb.'))).toBe(true);
    expect(read(path.join(ownDirectory, 'cgroup.subtree_control'))).toBe('hugetlb');
    expect(read(path.join(ownDirectory, 'cgroup.procs'))).toBe('');
    expect(read(`/proc/${resident.pid}/cgroup`).split('\n')).toContain(`0::${own}/containers-lab-agent`);

    // Re-discovered from inside the leaf (an agent restart), containers still go beside it.
    const again = openCgroupHost({ version: 2, ownCgroupPath: `${own}/containers-lab-agent`, v2Controllers: ['hugetlb'] });
    const second = again.create(`${PREFIX}-leaf2`, UNLIMITED);
    cgroups.push(second);
    expect(second.path).toBe(`${own}/containers-lab/${PREFIX}-leaf2`);

    const sleeper = start([BUSYBOX, 'sleep', '1000']);
    cgroup.addProcess(sleeper.pid!);
    cgroup.killAll();
    expect(await exited(sleeper)).toEqual({ code: null, signal: 'SIGKILL' });
  });
});

/*
 * What a config.json asks is applied or refused — never ignored (agent/oci/supported-fields.ts).
 *
 * Real kernel: documents made by configFromRunOptions (net "none") and then edited, run through
 * the runtime; each applied field is read back from the kernel's own files, not the agent's —
 * /proc/<pid>/limits, oom_score_adj, status, personality, stat, /proc/sys inside the container's
 * namespaces (nsenter), /proc/<pid>/cgroup and the cgroup files; `ionice`/`chrt` as witnesses.
 * Each refused field is one line naming it, and leaves nothing: no record, cgroup, mount or link
 * of the id the runtime drew (caught with inotify on the state root while it was refused).
 * cgroup v2 placement and hugepage limits run on this hybrid host's cgroup2 hierarchy, which
 * offers hugetlb, under a stand-in for the agent's own cgroup.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LabError } from '../agent/errors';
import { configFromRunOptions } from '../agent/oci/from-run-options';
import type { HostFacts } from '../agent/oci/supported-fields';
import type { CgroupLimits, ContainerRecord, OciSpec, RunOptions } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openCgroupHost } from '../agent/runtime/cgroups';
import { removeDirectory } from '../agent/runtime/cgroups/cgroupfs';
import { openRuntime } from '../agent/runtime/runtime';
import { runCli } from './helpers/cli';
import { execCollect } from './helpers/exec';
import { cgroupDirsNamed, leftovers, NONE_LEFT } from './helpers/kernel-witness';

const UNLIMITED: CgroupLimits = { memoryBytes: null, cpuQuotaUs: null, cpuPeriodUs: 100_000, pids: null };
const MiB = 1024 * 1024;
const TAG = `cl-cfgf-${process.pid}`;
const read = (file: string): string => readFileSync(file, 'utf8').trim();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The document `run --net none -- sleep 60` writes, edited. */
function doc(edit: (spec: OciSpec) => void, options: RunOptions = {}): OciSpec {
  const spec = configFromRunOptions({ net: 'none', args: ['sleep', '60'], ...options }, { rootfs: '/unused' });
  edit(spec);
  return spec;
}

/** Limits of a process as /proc/<pid>/limits prints them: name → [soft, hard]. */
function procLimits(pid: number): Map<string, [string, string]> {
  const limits = new Map<string, [string, string]>();
  for (const line of read(`/proc/${pid}/limits`).split('\n').slice(1)) {
    const match = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (match) limits.set(match[1]!, [match[2]!, match[3]!]);
  }
  return limits;
}

const capSysResource = (): boolean => (BigInt(`0x${/^CapEff:\s*(\w+)/m.exec(read('/proc/self/status'))![1]}`) >> 24n & 1n) === 1n;
const ownPath = (controller: string): string => read('/proc/self/cgroup').split('\n').map((line) => line.split(':')).find((f) => f[1]!.split(',').includes(controller))![2]!;
const cgroupLine = (pid: number, controller: string): string | undefined =>
  read(`/proc/${pid}/cgroup`).split('\n').map((line) => line.split(':')).find((f) => (controller === '' ? f[0] === '0' : f[1]!.split(',').includes(controller)))?.[2];
const nsRead = (pid: number, flag: string, file: string): string => execFileSync('nsenter', ['-t', String(pid), flag, 'cat', file], { encoding: 'utf8' }).trim();

let stateRoot: string;
let runtime: ContainerRuntime;
const made: ContainerRecord[] = [];
/** Ids the runtime drew for refused documents (each got a state directory for a moment, or none). */
const refusedIds: string[] = [];

beforeAll(() => {
  stateRoot = mkdtempSync('/tmp/cl-config-fields-');
  mkdirSync(path.join(stateRoot, 'containers'), { recursive: true });
  runtime = openRuntime({ stateRoot });
});

afterAll(async () => {
  for (const record of runtime.list()) await runtime.remove(record.id, true);
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  expect(leftovers(stateRoot, refusedIds.map((id) => ({ id, pid: null })))).toEqual(NONE_LEFT);
  expect(cgroupDirsNamed(TAG)).toEqual([]);
  runtime.close();
  rmSync(stateRoot, { recursive: true, force: true });
});

async function run(name: string, config: OciSpec): Promise<ContainerRecord> {
  const record = await runtime.run({ name, config });
  made.push(record);
  return runtime.inspect(record.id);
}

/**
 * Runs a document that must be refused: returns the one-line message, after checking that no
 * container is listed and that whatever id the runtime drew left nothing behind.
 */
let refusals = 0;
async function refused(config: OciSpec): Promise<string> {
  const name = `refused-${++refusals}`;
  const seen = new Set<string>();
  const watcher = watch(path.join(stateRoot, 'containers'), (_event, file) => {
    if (typeof file === 'string' && /^[0-9a-f]{32}$/.test(file)) seen.add(file);
  });
  let error: unknown;
  try {
    const accepted = await runtime.run({ name, config });
    made.push(accepted);
    await runtime.remove(accepted.id, true);
  } catch (caught) {
    error = caught;
  }
  await sleep(50); // inotify events arrive on the event loop
  watcher.close();
  refusedIds.push(...seen);
  expect(error, 'the document was accepted').toBeInstanceOf(LabError);
  const message = (error as LabError).message;
  expect(message).not.toContain('\n');
  expect(runtime.list().some((c) => c.name === name)).toBe(false);
  expect(leftovers(stateRoot, [...seen].map((id) => ({ id, pid: null })))).toEqual(NONE_LEFT);
  return message;
}

describe('process.rlimits', () => {
  test('applied with prlimit64 before the program: /proc/<pid>/limits, and exec gets them too', async () => {
    const record = await run('rlimits', doc((spec) => {
      spec.process!.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 256, hard: 512 },
        { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
        { type: 'RLIMIT_NPROC', soft: 300, hard: 400 },
        { type: 'RLIMIT_STACK', soft: 4 * MiB, hard: 2 ** 64 - 1 },
      ];
    }));
    const limits = procLimits(record.pid!);
    expect(limits.get('Max open files')).toEqual(['256', '512']);
    expect(limits.get('Max core file size')).toEqual(['0', '0']);
    expect(limits.get('Max processes')).toEqual(['300', '400']);
    expect(limits.get('Max stack size')).toEqual([String(4 * MiB), 'unlimited']);
    const shell = await execCollect(runtime, record.id, ['sh', '-c', 'ulimit -n; ulimit -Hn']);
    expect(shell.stdout.trim().split('\n')).toEqual(['256', '512']);
  });

  test('a hard limit above the agent\'s own (no CAP_SYS_RESOURCE here), an unknown name, a duplicate, soft above hard: one line each', async () => {
    const ownHard = procLimits(process.pid).get('Max open files')![1];
    if (!capSysResource() && ownHard !== 'unlimited') {
      const above = Number(ownHard) + 1;
      expect(await refused(doc((spec) => { spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: above }]; })))
        .toBe(`config.json: /process/rlimits/0 RLIMIT_NOFILE: hard limit ${above} is above this runtime's own (${ownHard}): raising it needs CAP_SYS_RESOURCE, which this host does not grant`);
    }
    expect(await refused(doc((spec) => { spec.process!.rlimits = [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }]; })))
      .toBe('config.json: /process/rlimits/0 RLIMIT_FOO is not a Linux resource limit');
    expect(await refused(doc((spec) => { spec.process!.rlimits = [{ type: 'RLIMIT_CORE', soft: 0, hard: 0 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }]; })))
      .toBe('config.json: /process/rlimits/1 RLIMIT_CORE is listed twice');
    expect(await refused(doc((spec) => { spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 600, hard: 500 }]; })))
      .toMatch(/^config\.json: \/process\/rlimits\/0 RLIMIT_NOFILE: soft limit 600 is above the hard limit 500$/);
  });
});

describe('process.oomScoreAdj', () => {
  test('written before exec, for the container alone: the agent keeps its own', async () => {
    const own = read('/proc/self/oom_score_adj');
    const record = await run('oom', doc((spec) => { spec.process!.oomScoreAdj = 500; }));
    expect(read(`/proc/${record.pid}/oom_score_adj`)).toBe('500');
    expect(read('/proc/self/oom_score_adj')).toBe(own);
    const shell = await execCollect(runtime, record.id, ['cat', '/proc/self/oom_score_adj']);
    expect(shell.stdout.trim()).toBe('500');
    expect(read('/proc/self/oom_score_adj')).toBe(own);
  });

  test('below the agent\'s own without CAP_SYS_RESOURCE: one line', async () => {
    if (capSysResource()) return;
    const own = Number(read('/proc/self/oom_score_adj'));
    expect(await refused(doc((spec) => { spec.process!.oomScoreAdj = own - 100; })))
      .toBe(`config.json: /process/oomScoreAdj ${own - 100} is below this runtime's own oom_score_adj (${own}): lowering it needs CAP_SYS_RESOURCE, which this host does not grant`);
  });
});

describe('umask, personality, scheduler, ioPriority', () => {
  test('each in the kernel\'s view of the first process; exec inherits them', async () => {
    const record = await run('settings', doc((spec) => {
      spec.process!.user.umask = 0o027;
      spec.process!.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
      spec.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 };
      if (process.arch === 'x64') spec.linux!.personality = { domain: 'LINUX32' };
    }));
    const pid = record.pid!;
    expect(/^Umask:\s*(\d+)/m.exec(read(`/proc/${pid}/status`))![1]).toBe('0027');
    expect(execFileSync('chrt', ['-p', String(pid)], { encoding: 'utf8' })).toMatch(/current scheduling policy: SCHED_BATCH/);
    const stat = read(`/proc/${pid}/stat`);
    expect(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]).toBe('5');
    expect(execFileSync('ionice', ['-p', String(pid)], { encoding: 'utf8' }).trim()).toBe('best-effort: prio 6');
    if (process.arch === 'x64') {
      expect(read(`/proc/${pid}/personality`)).toBe('00000008');
      expect((await execCollect(runtime, record.id, ['uname', '-m'])).stdout.trim()).toBe('i686');
    }
    expect((await execCollect(runtime, record.id, ['sh', '-c', 'umask'])).stdout.trim()).toBe('0027');
  });

  test('values the kernel has no meaning for: one line each', async () => {
    expect(await refused(doc((spec) => { spec.process!.scheduler = { policy: 'SCHED_FIFO', priority: 0 }; })))
      .toBe('config.json: /process/scheduler/priority must be 1…99 for SCHED_FIFO');
    expect(await refused(doc((spec) => { spec.linux!.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] }; })))
      .toBe('config.json: /linux/personality/flags is not supported by this runtime');
  });
});

describe('linux.sysctl', () => {
  test('namespaced sysctls are written in the container\'s namespaces, not the host\'s', async () => {
    // ip_default_ttl, not ip_forward: the agent switches the host's ip_forward on for published
    // ports while other test files run, so only a tunable nobody else writes can show the host untouched.
    const hostTtl = read('/proc/sys/net/ipv4/ip_default_ttl');
    const hostShmmax = read('/proc/sys/kernel/shmmax');
    const ttl = hostTtl === '77' ? '78' : '77';
    const record = await run('sysctl', doc((spec) => {
      spec.linux!.sysctl = {
        'net.ipv4.ip_default_ttl': ttl,
        'net.ipv4.ping_group_range': '0 2147483647',
        'kernel.shmmax': '123456789',
        'kernel.sem': '250 32000 32 128',
        'fs.mqueue.msg_max': '20',
      };
      spec.domainname = 'lab.test';
    }));
    const pid = record.pid!;
    expect(nsRead(pid, '-n', '/proc/sys/net/ipv4/ip_default_ttl')).toBe(ttl);
    expect(nsRead(pid, '-n', '/proc/sys/net/ipv4/ping_group_range').split(/\s+/)).toEqual(['0', '2147483647']);
    expect(nsRead(pid, '-i', '/proc/sys/kernel/shmmax')).toBe('123456789');
    expect(nsRead(pid, '-i', '/proc/sys/kernel/sem').split(/\s+/)).toEqual(['250', '32000', '32', '128']);
    expect(nsRead(pid, '-i', '/proc/sys/fs/mqueue/msg_max')).toBe('20');
    expect(nsRead(pid, '-u', '/proc/sys/kernel/domainname')).toBe('lab.test');
    expect((await execCollect(runtime, record.id, ['cat', '/proc/sys/kernel/shmmax'])).stdout.trim()).toBe('123456789');
    expect(read('/proc/sys/net/ipv4/ip_default_ttl')).toBe(hostTtl);
    expect(read('/proc/sys/kernel/shmmax')).toBe(hostShmmax);
  });

  test('a global sysctl, one without its namespace, one this kernel lacks, a value it refuses: one line each, nothing left', async () => {
    expect(await refused(doc((spec) => { spec.linux!.sysctl = { 'kernel.pid_max': '4096' }; })))
      .toMatch(/^config\.json: \/linux\/sysctl\/kernel\.pid_max is not supported by this runtime: it is not in a namespace, so it would change the whole host/);
    expect(await refused(doc((spec) => { spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1' }; }, { net: 'host' })))
      .toBe('config.json: /linux/sysctl/net.ipv4.ip_forward needs a network namespace of the container\'s own: otherwise it would change the host\'s (or a pod\'s) value');
    expect(await refused(doc((spec) => { spec.linux!.sysctl = { 'net.ipv4.no_such_knob': '1' }; })))
      .toBe('config.json: /linux/sysctl/net.ipv4.no_such_knob does not exist on this kernel (or in this namespace)');
    expect(await refused(doc((spec) => { spec.linux!.sysctl = { 'net.ipv4.ip_forward': 'yes' }; })))
      .toBe('config.json: /linux/sysctl/net.ipv4.ip_forward was refused by the kernel: net.ipv4.ip_forward ← "yes" gave EINVAL');
    expect(await refused(doc((spec) => { spec.linux!.sysctl = { 'net..': '1' }; })))
      .toBe('config.json: /linux/sysctl/net.. is not a sysctl name (dotted, as sysctl(8) writes it)');
  });
});

describe('linux.cgroupsPath', () => {
  test('places the cgroup under the agent\'s own, in every hierarchy (v1 and the hybrid\'s cgroup2); removed with the container', async () => {
    const record = await run('placed', doc((spec) => { spec.linux!.cgroupsPath = `/${TAG}/pod/box`; }));
    const pid = record.pid!;
    const own = ownPath('memory');
    expect(cgroupLine(pid, 'memory')).toBe(`${own === '/' ? '' : own}/${TAG}/pod/box`);
    expect(cgroupLine(pid, 'pids')).toBe(`${ownPath('pids') === '/' ? '' : ownPath('pids')}/${TAG}/pod/box`);
    if (cgroupLine(process.pid, '') !== undefined) expect(cgroupLine(pid, '')).toMatch(new RegExp(`/${TAG}/pod/box$`));
    expect(record.cgroup!.path).toBe(cgroupLine(pid, 'memory'));
    expect(record.config.linux!.cgroupsPath).toBe(`/${TAG}/pod/box`);

    const relative = await run('placed-rel', doc((spec) => { spec.linux!.cgroupsPath = `${TAG}/pod/second`; }));
    expect(cgroupLine(relative.pid!, 'memory')).toBe(`${own === '/' ? '' : own}/${TAG}/pod/second`);
    await runtime.remove(record.id, true);
    expect(cgroupDirsNamed('box').filter((dir) => dir.includes(TAG))).toEqual([]);
    expect(cgroupDirsNamed(TAG).length).toBeGreaterThan(0); // still holds the second
    await runtime.remove(relative.id, true);
    expect(cgroupDirsNamed(TAG)).toEqual([]);
  });

  test('".." and the agent\'s own places are refused in one line; a path taken is a conflict', async () => {
    expect(await refused(doc((spec) => { spec.linux!.cgroupsPath = `/${TAG}/../../escape`; })))
      .toBe(`config.json: /linux/cgroupsPath "/${TAG}/../../escape" may not contain ".."`);
    expect(await refused(doc((spec) => { spec.linux!.cgroupsPath = 'containers-lab-agent/x'; })))
      .toBe('config.json: /linux/cgroupsPath "containers-lab-agent/x" is the agent\'s own cgroup (containers-lab-agent)');
    const first = await run('taken', doc((spec) => { spec.linux!.cgroupsPath = `${TAG}/taken`; }));
    expect(await refused(doc((spec) => { spec.linux!.cgroupsPath = `${TAG}/taken/inner`; }))).toMatch(/holds processes: a container's cgroup cannot go inside it$/);
    expect(await refused(doc((spec) => { spec.linux!.cgroupsPath = `${TAG}/taken`; }))).toMatch(/already exists$/);
    await runtime.remove(first.id, true);
    expect(cgroupDirsNamed(TAG)).toEqual([]);
  });
});

describe('linux.resources beyond the limits (this host: cgroup v1)', () => {
  test('reservation, swap, swappiness, OOM killer, shares, burst, idle: in the cgroup\'s files', async () => {
    const host = openCgroupHost();
    if (host.version !== 1) return;
    const record = await run('resources', doc((spec) => {
      spec.linux!.resources!.memory = {
        limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB, swappiness: 10, disableOOMKiller: true, kernelTCP: 16 * MiB, useHierarchy: true,
      };
      spec.linux!.resources!.cpu = { quota: 50_000, period: 100_000, shares: 512, burst: 10_000, idle: 0 };
    }));
    const memory = record.cgroup!.directories.memory!;
    const cpu = record.cgroup!.directories.cpu!;
    expect(read(path.join(memory, 'memory.soft_limit_in_bytes'))).toBe(String(32 * MiB));
    expect(read(path.join(memory, 'memory.memsw.limit_in_bytes'))).toBe(String(128 * MiB));
    expect(read(path.join(memory, 'memory.swappiness'))).toBe('10');
    expect(read(path.join(memory, 'memory.oom_control'))).toMatch(/^oom_kill_disable 1$/m);
    expect(read(path.join(memory, 'memory.kmem.tcp.limit_in_bytes'))).toBe(String(16 * MiB));
    expect(read(path.join(cpu, 'cpu.shares'))).toBe('512');
    expect(read(path.join(cpu, 'cpu.cfs_burst_us'))).toBe('10000');
    expect(read(path.join(cpu, 'cpu.idle'))).toBe('0');
  });

  test('what v1 or this runtime cannot do: one line each, nothing left', async () => {
    if (openCgroupHost().version !== 1) return;
    const with_ = (resources: object): OciSpec => doc((spec) => { Object.assign(spec.linux!.resources!, resources); });
    expect(await refused(with_({ cpu: { cpus: 'all' } }))).toBe('config.json: /linux/resources/cpu/cpus "all" is not a list like "0-3" or "0,2"');
    // A CPU number beyond the kernel's CPU mask: its ERANGE, once the cgroup exists; undone.
    expect(await refused(with_({ cpu: { cpus: '4000' } }))).toBe('config.json: /linux/resources/cpu/cpus was refused by the kernel: cpuset.cpus ← "4000" gave ERANGE');
    expect(await refused(with_({ blockIO: { weight: 100 } }))).toMatch(/^config\.json: \/linux\/resources\/blockIO is not supported by this runtime/);
    expect(await refused(with_({ unified: { 'memory.high': '1000000' } }))).toBe('config.json: /linux/resources/unified needs cgroup v2: this host\'s containers use cgroup v1');
    expect(await refused(with_({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }))).toMatch(/^config\.json: \/linux\/resources\/hugepageLimits is not supported by this runtime on cgroup v1/);
    expect(await refused(with_({ memory: { useHierarchy: false } }))).toMatch(/^config\.json: \/linux\/resources\/memory\/useHierarchy false is not supported by this runtime/);
    expect(await refused(with_({ memory: { limit: 64 * MiB, swap: 32 * MiB } }))).toMatch(/^config\.json: \/linux\/resources\/memory\/swap must be -1 \(unlimited\) or at least memory\.limit/);
    // Refused by the kernel once the cgroup exists (its parent has no real-time time to give): undone.
    expect(await refused(with_({ cpu: { realtimeRuntime: 1000 } }))).toMatch(/^config\.json: \/linux\/resources\/cpu\/realtimeRuntime (was refused by the kernel: cpu\.rt_runtime_us ← "1000" gave E[A-Z]+|needs cpu\.rt_runtime_us, which this host's cgroups do not have)$/);
  });
});

describe('cgroup v2: placement and hugepage limits (this host\'s cgroup2 hierarchy, under a stand-in own cgroup)', () => {
  const layout = openCgroupHost().layout;
  const unified = layout.v2?.mountPoint;
  const offersHugetlb = layout.v2?.controllers.includes('hugetlb') === true && existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB');
  // The modules are loaded here, not at the top: the kernel tests above need only the runtime.
  const resourceFiles = (): Promise<typeof import('../agent/runtime/cgroups/resource-files.js')> => import('../agent/runtime/cgroups/resource-files.js');
  test.runIf(unified !== undefined && offersHugetlb)('a cgroupsPath three levels deep with hugetlb.2MB.max and cgroup.max.depth; all removed again', async () => {
    const { applyResourceWrites, resourcePlanFor } = await resourceFiles();
    const own = `/${TAG}-own`;
    const ownDirectory = path.join(unified!, own);
    const rootControl = path.join(unified!, 'cgroup.subtree_control');
    const rootHadHugetlb = read(rootControl).split(' ').includes('hugetlb');
    mkdirSync(ownDirectory);
    try {
      const host = openCgroupHost({ version: 2, ownCgroupPath: own, v2Controllers: ['hugetlb'] });
      const plan = resourcePlanFor({ hugepageLimits: [{ pageSize: '2MB', limit: 8 * MiB }], unified: { 'cgroup.max.depth': '3' } }, 2, host.layout.v2!.controllers);
      expect(plan.required).toEqual(['hugetlb']);
      const cgroup = host.create('box', UNLIMITED, null, { at: 'pods/p1/box', required: plan.required });
      const record = cgroup.record();
      expect(record.path).toBe(`${own}/pods/p1/box`);
      expect(record.directories.unified).toBe(path.join(ownDirectory, 'pods/p1/box'));
      applyResourceWrites(record, plan.writes);
      expect(read(path.join(ownDirectory, 'pods/p1/box/hugetlb.2MB.max'))).toBe(String(8 * MiB));
      expect(read(path.join(ownDirectory, 'pods/p1/box/cgroup.max.depth'))).toBe('3');
      cgroup.destroy();
      expect(readdirSync(ownDirectory).filter((entry) => !entry.includes('.'))).toEqual([]);
    } finally {
      for (const dir of ['pods/p1/box', 'pods/p1', 'pods', '']) removeDirectory(path.join(ownDirectory, dir));
      // Unless someone else enabled it for their own children meanwhile (then the write fails: leave it on).
      if (!rootHadHugetlb) execFileSync('sh', ['-c', `echo -hugetlb > ${rootControl} 2>/dev/null || true`]);
    }
  });

  test('a v2 host\'s refusals: a controller it does not offer; v2 has no swappiness', async () => {
    const { hostFacts, realisationPlan } = await import('../agent/oci/supported-fields.js');
    const { sharesToWeight } = await resourceFiles();
    const facts: HostFacts = { ...hostFacts(openCgroupHost()), cgroupVersion: 2, v2Controllers: ['hugetlb'] };
    const plan = (edit: (spec: OciSpec) => void): unknown => realisationPlan(doc(edit), facts);
    expect(() => plan((spec) => { spec.linux!.resources!.unified = { 'memory.high': '1000000' }; }))
      .toThrow(/^config\.json: \/linux\/resources\/unified\/memory\.high needs the memory controller, which this host's cgroup v2 does not offer \(hugetlb\)$/);
    expect(() => plan((spec) => { spec.linux!.resources!.memory = { swappiness: 10 }; }))
      .toThrow(/^config\.json: \/linux\/resources\/memory\/swappiness is not supported by this runtime on cgroup v2 \(v2 has no such file\)$/);
    expect(() => plan((spec) => { spec.linux!.resources!.unified = { 'cgroup.procs': '1' }; })).toThrow(/^config\.json: \/linux\/resources\/unified\/cgroup\.procs is a file the runtime itself drives$/);
    expect(() => plan((spec) => { spec.linux!.resources!.cpu = { shares: 1024 }; })).not.toThrow();
    // cpuset on v2: the controller must be offered (it is then enabled down to the container, like hugetlb).
    expect(() => plan((spec) => { spec.linux!.resources!.cpu = { cpus: '0' }; }))
      .toThrow(/^config\.json: \/linux\/resources\/cpu\/cpus needs the cpuset controller, which this host's cgroup v2 does not offer \(hugetlb\)$/);
    const { resourcePlanFor } = await resourceFiles();
    const cpuset = resourcePlanFor({ cpu: { cpus: '0-1', mems: '0' }, memory: { kernel: 64 * MiB, kernelTCP: MiB } }, 2, ['cpuset', 'memory']);
    expect(cpuset.required).toEqual(['cpuset']);
    expect(cpuset.writes.map(({ controller, file, value }) => [controller, file, value])).toEqual([['unified', 'cpuset.cpus', '0-1'], ['unified', 'cpuset.mems', '0']]);
    // Kernel memory: accepted, not written, one warning each (v2 has no kernel TCP limit of its own).
    expect(cpuset.warnings).toEqual([
      expect.stringMatching(/^linux\.resources\.memory\.kernel is ignored: this kernel no longer limits kernel memory/),
      expect.stringMatching(/^linux\.resources\.memory\.kernelTCP is ignored on cgroup v2/),
    ]);
    expect(sharesToWeight(1024)).toBe(39);
  });
});

describe('process and user', () => {
  test('user.uid 4294967295 (the kernel\'s "-1") and such gids are refused: the program would run as root', async () => {
    expect(await refused(doc((spec) => { spec.process!.user.uid = 4294967295; })))
      .toBe('config.json: /process/user/uid 4294967295 is the kernel\'s "-1" (leave unchanged): the program would keep the runtime\'s root identity; choose a real uid');
    expect(await refused(doc((spec) => { spec.process!.user.gid = 4294967295; }))).toMatch(/^config\.json: \/process\/user\/gid 4294967295 is the kernel's "-1"/);
    expect(await refused(doc((spec) => { spec.process!.user.additionalGids = [10, 4294967295]; }))).toMatch(/^config\.json: \/process\/user\/additionalGids\/1 4294967295 is the kernel's "-1"/);
    expect(await refused(doc((spec) => { spec.process!.user.uid = 70000; }, { userns: true })))
      .toBe('config.json: /process/user/uid 70000 is not mapped by linux.uidMappings: the user namespace has no such uid');
  });

  test('process.capabilities beyond the runtime\'s own bounding set: one line naming the set and each capability, whatever this host grants', async () => {
    const { hostFacts, realisationPlan } = await import('../agent/oci/supported-fields.js');
    const { CAPABILITY_NAMES } = await import('../agent/protocol/capabilities.js');
    // A stand-in host whose root lacks CAP_SYS_RESOURCE and CAP_BPF (the real one may grant both).
    const lacking = CAPABILITY_NAMES.filter((name) => name !== 'CAP_SYS_RESOURCE' && name !== 'CAP_BPF');
    const facts: HostFacts = { ...hostFacts(openCgroupHost()), heldCapabilities: () => lacking };
    const plan = (edit: (spec: OciSpec) => void, options: RunOptions = {}): unknown => realisationPlan(doc(edit, options), facts);
    const every = [...CAPABILITY_NAMES];
    expect(() => plan((spec) => { spec.process!.capabilities = { bounding: every, effective: every, permitted: every, inheritable: every, ambient: every }; }))
      .toThrow(/^config\.json: \/process\/capabilities\/bounding CAP_SYS_RESOURCE and CAP_BPF are not in this runtime's bounding set \(the host does not grant them\)$/);
    // The first set that asks, in the order they are applied; names as runc takes them (lower case, without CAP_).
    expect(() => plan((spec) => { spec.process!.capabilities = { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], ambient: ['sys_resource'] }; }))
      .toThrow(/^config\.json: \/process\/capabilities\/ambient CAP_SYS_RESOURCE is not in this runtime's bounding set \(the host does not grant it\)$/);
    expect(() => plan((spec) => { spec.process!.capabilities = { bounding: lacking, effective: lacking, permitted: lacking, inheritable: lacking, ambient: lacking }; })).not.toThrow();
    // In a user namespace the first process holds every capability (bounding set too) inside it: nothing to refuse.
    expect(() => plan((spec) => { spec.process!.capabilities = { bounding: every, effective: every, permitted: every }; }, { userns: true })).not.toThrow();
  });

  test('a document without process: one line, from the CLI too', async () => {
    const noProcess = doc((spec) => { delete spec.process; });
    expect(await refused(noProcess)).toBe('config.json: /process is required to run a container');
    const work = mkdtempSync('/tmp/cl-config-fields-cli-');
    try {
      writeFileSync(path.join(work, 'config.json'), JSON.stringify(noProcess));
      const result = await runCli(['--root', path.join(work, 'root'), '--socket', path.join(work, 'no-agent.sock'), 'run', '--config', path.join(work, 'config.json'), 'busybox']);
      expect(result.code).not.toBe(0);
      expect(result.stderr.trim().split('\n')).toEqual(['containers-lab: config.json: /process is required to run a container']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('cwd: missing is the schema\'s one line; relative is refused; one the image lacks is made, not replaced by "/"', async () => {
    expect(await refused(doc((spec) => { delete (spec.process as Partial<NonNullable<OciSpec['process']>>).cwd; })))
      .toBe("config.json: /process must have required property 'cwd'");
    expect(await refused(doc((spec) => { spec.process!.cwd = 'tmp'; }))).toBe('config.json: /process/cwd "tmp" must be an absolute path');
    expect(await refused(doc((spec) => { spec.process!.cwd = '/bin/busybox/x'; }))).toBe('config.json: /process/cwd is not a directory in the container (/bin/busybox is not one)');
    const record = await run('workdir', doc((spec) => {
      spec.process!.cwd = '/work/dir';
      spec.process!.args = ['sh', '-c', 'pwd > /tmp/pwd; exec sleep 60'];
    }));
    expect(execFileSync('readlink', [`/proc/${record.pid}/cwd`], { encoding: 'utf8' }).trim()).toMatch(/\/work\/dir$/);
    expect((await execCollect(runtime, record.id, ['cat', '/tmp/pwd'])).stdout.trim()).toBe('/work/dir');
  });
});

describe('fields this runtime does not realise: one line naming each, nothing left', () => {
  test.each<[string, (spec: OciSpec) => void, string | RegExp]>([
    ['linux.intelRdt', (spec) => { Object.assign(spec.linux!, { intelRdt: { closID: 'x' } }); }, 'config.json: /linux/intelRdt is not supported by this runtime'],
    ['process.apparmorProfile', (spec) => { Object.assign(spec.process!, { apparmorProfile: 'docker-default' }); }, 'config.json: /process/apparmorProfile is not supported by this runtime: this host has no AppArmor'],
    ['process.selinuxLabel', (spec) => { Object.assign(spec.process!, { selinuxLabel: 'system_u:system_r:container_t:s0' }); }, /^config\.json: \/process\/selinuxLabel is not supported/],
    ['a linux.devices node outside /dev', (spec) => { Object.assign(spec.linux!, { devices: [{ path: '/etc/fuse', type: 'c', major: 10, minor: 229 }] }); }, 'config.json: /linux/devices/0/path "/etc/fuse" must be a file below /dev/ (no "." or "..")'],
    ['a linux.devices node that climbs', (spec) => { Object.assign(spec.linux!, { devices: [{ path: '/dev/../etc/x', type: 'p' }] }); }, 'config.json: /linux/devices/0/path "/dev/../etc/x" must be a file below /dev/ (no "." or "..")'],
    ['a sticky linux.devices node (the schema allows up to 0o1000)', (spec) => { Object.assign(spec.linux!, { devices: [{ path: '/dev/x', type: 'c', major: 1, minor: 3, fileMode: 0o1000 }] }); }, 'config.json: /linux/devices/0/fileMode 1000 (octal) has bits beyond the permissions rwxrwxrwx (0777)'],
    ['a linux.devices char node without a minor', (spec) => { Object.assign(spec.linux!, { devices: [{ path: '/dev/x', type: 'c', major: 1 }] }); }, 'config.json: /linux/devices/0/minor is required for a character device'],
    ['linux.timeOffsets', (spec) => { Object.assign(spec.linux!, { timeOffsets: { monotonic: { secs: 10, nanosecs: 0 } } }); }, /^config\.json: \/linux\/timeOffsets is not supported/],
    ['a time namespace', (spec) => { spec.linux!.namespaces!.push({ type: 'time' }); }, /^config\.json: \/linux\/namespaces\/\d+ is a time namespace: not supported by this runtime$/],
    ['process.terminal without a devpts at /dev/pts', (spec) => { spec.process!.terminal = true; spec.mounts = spec.mounts!.filter((mount) => mount.destination !== '/dev/pts'); }, "config.json: /process/terminal needs a devpts mount at /dev/pts: the terminal is made in the container's own /dev/pts"],
    ['linux.rootfsPropagation "sideways"', (spec) => { spec.linux!.rootfsPropagation = 'sideways'; }, 'config.json: /linux/rootfsPropagation must be one of "private", "shared", "slave", "unbindable"'],
    ['hostname without a UTS namespace', (spec) => { spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'uts'); }, 'config.json: /hostname needs a UTS namespace in linux.namespaces (its own, or one joined by path)'],
    ['a 1.2 field (linux.memoryPolicy)', (spec) => { Object.assign(spec.linux!, { memoryPolicy: { mode: 'MPOL_BIND', nodes: '0' } }); }, 'config.json: /linux/memoryPolicy is not part of runtime-spec 1.1 for Linux'],
    ['an idmapped mount', (spec) => { Object.assign(spec.mounts![0]!, { uidMappings: [{ containerID: 0, hostID: 100000, size: 1 }] }); }, 'config.json: /mounts/0/uidMappings is not supported by this runtime: no idmapped mounts'],
    ['a Windows field', (spec) => { Object.assign(spec, { windows: { layerFolders: ['C:\\x'] } }); }, /^config\.json: \/windows is not supported by this runtime: it is for another platform$/],
  ])('%s', async (_, edit, expected) => {
    const message = await refused(doc(edit));
    if (typeof expected === 'string') expect(message).toBe(expected);
    else expect(message).toMatch(expected);
  });

  test.runIf(!existsSync('/sys/fs/selinux/enforce'))('linux.mountLabel where SELinux is off: ignored with one warning, as crun (no mount has a label to get); the container runs', async () => {
    const { hostFacts, realisationPlan } = await import('../agent/oci/supported-fields.js');
    const labelled = doc((spec) => { Object.assign(spec.linux!, { mountLabel: 'system_u:object_r:container_file_t:s0' }); });
    expect(realisationPlan(labelled, hostFacts(openCgroupHost())).warnings)
      .toEqual(['linux.mountLabel is ignored: SELinux is not enabled on this host, so no mount has a label to get (as crun)']);
    expect((await run('labelled', labelled)).status).toBe('running');
  });

  test('a property runtime-spec 1.1 does not define: the service refuses it; containers-lab-runc\'s rule ignores each with a warning and still refuses what it cannot do', async () => {
    const { hostFacts, realisationPlan } = await import('../agent/oci/supported-fields.js');
    const facts = hostFacts(openCgroupHost());
    const unknowns = doc((spec) => {
      Object.assign(spec, { unknown: 'x' });
      Object.assign(spec.process!, { shell: 'sh' });
      Object.assign(spec.mounts![0]!, { label: 'proc' });
      spec.linux!.resources = { memory: { limit: 64 * 1024 * 1024 } };
      Object.assign(spec.linux!.resources.memory!, { soft: 1 });
      Object.assign(spec.linux!.resources, { banana: {} });
    });
    // The service's rule (the default): the first one is named, nothing runs.
    expect(() => realisationPlan(unknowns, facts)).toThrow('config.json: /process/shell is not part of runtime-spec 1.1 for Linux');
    expect(await refused(unknowns)).toBe('config.json: /process/shell is not part of runtime-spec 1.1 for Linux');
    // containers-lab-runc's: every one said once, and the rest realised.
    const plan = realisationPlan(unknowns, facts, 'ignore');
    const ignored = (field: string): string => `${field} is not part of runtime-spec 1.1 for Linux: ignored, as the spec says a runtime must`;
    expect([...plan.warnings, ...plan.cgroup.warnings].sort()).toEqual([
      ignored('unknown'), ignored('process.shell'), ignored('mounts.0.label'), ignored('linux.resources.banana'), ignored('linux.resources.memory.soft'),
    ].sort());
    // A field runtime-spec defines but this runtime cannot do is no unknown property: still refused.
    const rdt = doc((spec) => { Object.assign(spec, { unknown: 'x' }); Object.assign(spec.linux!, { intelRdt: { closID: 'x' } }); });
    expect(() => realisationPlan(rdt, facts, 'ignore')).toThrow('config.json: /linux/intelRdt is not supported by this runtime');
  });

  test('hostile unknown properties: a key with a newline is one line either way; thousands of them are ten named and one more line', async () => {
    const { hostFacts, realisationPlan } = await import('../agent/oci/supported-fields.js');
    const { NAMED_UNKNOWN_FIELDS } = await import('../agent/oci/validate.js');
    const facts = hostFacts(openCgroupHost());
    const newline = doc((spec) => { Object.assign(spec, { 'a\nlevel=error msg=forged': 1 }); });
    expect(await refused(newline)).toBe('config.json: /a\\nlevel=error msg=forged is not part of runtime-spec 1.1 for Linux');
    expect(realisationPlan(newline, facts, 'ignore').warnings).toEqual(['a\\nlevel=error msg=forged is not part of runtime-spec 1.1 for Linux: ignored, as the spec says a runtime must']);
    const many = doc((spec) => { Object.assign(spec, Object.fromEntries(Array.from({ length: 5000 }, (_, index) => [`x${index}`, index]))); });
    const warnings = realisationPlan(many, facts, 'ignore').warnings;
    expect(warnings).toHaveLength(NAMED_UNKNOWN_FIELDS + 1);
    expect(warnings.slice(0, NAMED_UNKNOWN_FIELDS).every((warning, index) => warning.startsWith(`x${index} is not part`))).toBe(true);
    expect(warnings.at(-1)).toBe(`further properties that are not part of runtime-spec 1.1 for Linux: ignored, not named one by one (after ${NAMED_UNKNOWN_FIELDS})`);
    expect(warnings.every((warning) => !warning.includes('\n'))).toBe(true);
  });

  test('what `run` writes itself passes: empty values ask for nothing', async () => {
    const record = await run('plain', doc((spec) => {
      Object.assign(spec, { hooks: {} });
      Object.assign(spec.process!, { apparmorProfile: '' });
    }));
    expect(record.status).toBe('running');
  });
});

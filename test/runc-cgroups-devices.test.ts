/*
 * What the OCI validation suite's linux_cgroups_cpus, linux_cgroups_memory and linux_devices ask
 * of containers-lab-runc, checked against the real kernel:
 *   - linux.resources.cpu.cpus/mems: the cpuset cgroup's own files, the cgroups made on the way
 *     filled from their parents (cgroup v1's trap), and the kernel's view from inside the
 *     container — Cpus_allowed_list of its first process and of an exec'd one;
 *   - memory.kernel: accepted and ignored, with one warning in runc's log;
 *   - linux.devices: the nodes' type, major:minor, mode and owner as `stat` inside the container
 *     sees them (under a user namespace too), the device cgroup letting the container open the
 *     listed node, and what is refused.
 * Nothing is left behind: the cgroups (of the nested cgroupsPath too), state directories.
 * (cgroup v2's cpuset is checked at plan level in config-fields.test.ts: this hybrid host's cgroup2
 * hierarchy offers no cpuset controller.)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { reap } from '../agent/kernel/processes';
import type { OciLinuxDevice } from '../agent/protocol';
import { openCgroupHost } from '../agent/runtime/cgroups';
import { cgroupDirsNamed } from './helpers/kernel-witness';
import { becomeSubreaper, ensureRuncBuilt, makeBundle, runc } from './helpers/runc';

const TAG = `runccgd-${process.pid}`;
const MiB = 1024 * 1024;
let work: string;
let root: string;
const ids: string[] = [];

const read = (file: string): string => readFileSync(file, 'utf8').trim();
const waitFor = (file: string, text: string): string => {
  for (let i = 0; i < 300 && !(existsSync(file) && readFileSync(file, 'utf8').includes(text)); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  return readFileSync(file, 'utf8');
};
function newId(name: string): string {
  const id = `${TAG}-${name}`;
  ids.push(id);
  return id;
}

beforeAll(() => {
  ensureRuncBuilt();
  becomeSubreaper();
  work = mkdtempSync('/tmp/runc-cgroups-devices-');
  root = join(work, 'root');
});

afterAll(() => {
  for (const id of ids) runc(root, ['delete', '--force', id]);
  rmSync(work, { recursive: true, force: true });
  expect(cgroupDirsNamed(TAG)).toEqual([]);
});

const cpusetHierarchy = openCgroupHost().layout.v1.find((hierarchy) => hierarchy.controllers.includes('cpuset'));

test.runIf(openCgroupHost().version === 1 && cpusetHierarchy !== undefined)('cpu.cpus/mems (v1): cpuset files filled top down, the kernel runs the container — and an exec — only there', () => {
  const lastCpu = String(cpus().length - 1);
  const id = newId('cpuset');
  const bundle = makeBundle(join(work, 'cpuset'), join(work, 'images'), (spec) => {
    spec.process!.args = ['sh', '-c', 'grep -E "^(Cpus|Mems)_allowed_list" /proc/self/status; echo done; exec sleep 1000'];
    spec.linux!.cgroupsPath = `${TAG}/pod/box`;
    spec.linux!.resources = { ...spec.linux!.resources, cpu: { cpus: lastCpu, mems: '0', shares: 512 } };
  });
  const output = join(work, 'cpuset.out');
  const pidFile = join(work, 'cpuset.pid');
  const created = runc(root, ['create', '--bundle', bundle, '--pid-file', pidFile, id], { output });
  expect(created.status, created.stderr).toBe(0);
  const pid = Number(read(pidFile));
  // The kernel's record of where the process is, and the cpuset files there and on the way.
  const cpusetPath = read(`/proc/${pid}/cgroup`).split('\n').map((line) => line.split(':')).find((fields) => fields[1] === 'cpuset')![2]!;
  expect(cpusetPath).toMatch(new RegExp(`/${TAG}/pod/box$`));
  const directory = join(cpusetHierarchy!.mountPoint, cpusetPath);
  expect(read(join(directory, 'cpuset.cpus'))).toBe(lastCpu);
  expect(read(join(directory, 'cpuset.mems'))).toBe('0');
  const top = join(cpusetHierarchy!.mountPoint, cpusetPath.slice(0, cpusetPath.indexOf(`/${TAG}/`)));
  for (const made of [join(top, TAG), join(top, TAG, 'pod')]) {
    // Made by the runtime for the path, each filled from its parent (empty, no task could join below).
    expect(read(join(made, 'cpuset.cpus'))).toBe(read(join(top, 'cpuset.cpus')));
    expect(read(join(made, 'cpuset.mems'))).toBe(read(join(top, 'cpuset.mems')));
  }
  expect(runc(root, ['start', id]).status).toBe(0);
  expect(waitFor(output, 'done')).toBe(`Cpus_allowed_list:\t${lastCpu}\nMems_allowed_list:\t0\ndone\n`);
  const exec = runc(root, ['exec', id, 'grep', '^Cpus_allowed_list', '/proc/self/status']);
  expect(exec.stdout).toBe(`Cpus_allowed_list:\t${lastCpu}\n`);
  expect(runc(root, ['kill', id, 'KILL']).status).toBe(0);
  reap(pid, true);
  expect(runc(root, ['delete', id]).status).toBe(0);
  expect(cgroupDirsNamed(TAG)).toEqual([]);
});

test('an absolute cgroupsPath starts at the top of each hierarchy, as runc reads it; delete removes what create made there and nothing that was there before', () => {
  const v1Memory = openCgroupHost().layout.v1.find((hierarchy) => hierarchy.controllers.includes('memory'));
  const memory = v1Memory ?? openCgroupHost().layout.v2!;
  // The caller's own cgroup, there before the container (containerd's namespace cgroup, a kubelet's pod cgroup).
  const callers = join(memory.mountPoint, `${TAG}-plan`);
  mkdirSync(callers);
  try {
    const id = newId('absolute');
    const bundle = makeBundle(join(work, 'absolute'), join(work, 'images'), (spec) => {
      spec.process!.args = ['sleep', '1000'];
      spec.linux!.cgroupsPath = `/${TAG}-plan/made/box`;
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 48 * MiB } };
    });
    const pidFile = join(work, 'absolute.pid');
    expect(runc(root, ['create', '--bundle', bundle, '--pid-file', pidFile, id]).status).toBe(0);
    const pid = Number(read(pidFile));
    const lines = read(`/proc/${pid}/cgroup`).split('\n').map((line) => line.split(':'));
    const memoryLine = lines.find((fields) => (v1Memory ? fields[1]!.split(',').includes('memory') : fields[0] === '0'));
    expect(memoryLine?.[2]).toBe(`/${TAG}-plan/made/box`);
    const limitFile = existsSync(join(callers, 'made', 'box', 'memory.limit_in_bytes')) ? 'memory.limit_in_bytes' : 'memory.max';
    expect(Number(read(join(callers, 'made', 'box', limitFile)))).toBe(48 * MiB);
    expect(runc(root, ['delete', '--force', id]).status).toBe(0);
    reap(pid, true);
    expect(existsSync(join(callers, 'made'))).toBe(false);
    expect(existsSync(callers)).toBe(true);

    // Hostile paths: one that climbs, and one naming a cgroup that exists and holds processes (this
    // test's own): refused in one line, nothing made, the existing cgroup left as it was.
    const ownPath = read('/proc/self/cgroup').split('\n').map((line) => line.split(':')).find((fields) => (v1Memory ? fields[1]!.split(',').includes('memory') : fields[0] === '0'))![2]!;
    for (const [cgroupsPath, message] of [[`/${TAG}-plan/../../etc`, /may not contain "\.\."/], [ownPath, /already exists|names no cgroup/]] as const) {
      const hostile = newId(`hostile${cgroupsPath.length}`);
      const refused = runc(root, ['create', '--bundle', makeBundle(join(work, 'hostile'), join(work, 'images'), (spec) => {
        spec.linux!.cgroupsPath = cgroupsPath;
      }), hostile]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(message);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(cgroupDirsNamed(hostile)).toEqual([]);
    }
    expect(existsSync(join(memory.mountPoint, ownPath))).toBe(true);
  } finally {
    rmdirSync(callers);
  }
  expect(cgroupDirsNamed(TAG)).toEqual([]);
});

test.runIf(openCgroupHost().layout.v2 !== undefined)('the device filter loads while a signal arrives every millisecond (a profiler\'s SIGPROF): the verifier\'s EAGAIN is not create\'s error', () => {
  const bundle = makeBundle(join(work, 'signals'), join(work, 'images'), (spec) => {
    spec.process!.args = ['true'];
  });
  // --cpu-prof samples with SIGPROF at 1 kHz; the eBPF device program is loaded on cgroup v2 (here the hybrid host's unified part).
  const profiles = join(work, 'profiles');
  for (let run = 0; run < 8; run++) {
    const id = newId(`signals${run}`);
    const result = runc(root, ['run', '--bundle', bundle, id], { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profiles] });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(cgroupDirsNamed(id)).toEqual([]);
  }
});

test('memory.kernel is ignored with one warning in the log (as runc 1.1); the container runs under its memory limit', () => {
  const id = newId('kmem');
  const bundle = makeBundle(join(work, 'kmem'), join(work, 'images'), (spec) => {
    spec.process!.args = ['sh', '-c', 'echo ran'];
    spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 64 * MiB, kernel: 32 * MiB } };
  });
  const log = join(work, 'kmem.log');
  const result = runc(root, ['run', '--bundle', bundle, id], { global: ['--log', log, '--log-format', 'json'] });
  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toBe('ran\n');
  const entries = read(log).split('\n').map((line) => JSON.parse(line) as { level: string; msg: string });
  expect(entries.filter((entry) => entry.level === 'warning')).toEqual([
    { level: 'warning', msg: expect.stringMatching(/^linux\.resources\.memory\.kernel is ignored: this kernel no longer limits kernel memory/) as string, time: expect.any(String) as string },
  ]);
  expect(cgroupDirsNamed(id)).toEqual([]);
});

test('linux.devices: nodes of each type with their numbers, mode and owner inside; the listed char device passes the device cgroup', () => {
  const id = newId('nodes');
  const bundle = makeBundle(join(work, 'nodes'), join(work, 'images'), (spec) => {
    spec.process!.args = ['sh', '-c', 'stat -c "%n %F %t:%T %a %u:%g" /dev/lab-char /dev/lab/blk /dev/lab-fifo /dev/null; cat /dev/lab-char'];
    spec.linux!.devices = [
      // Readable by all: the container's root has no CAP_DAC_OVERRIDE, and the check below is the device cgroup's.
      { path: '/dev/lab-char', type: 'c', major: 10, minor: 666, fileMode: 0o666, uid: 1, gid: 2 },
      // A minor above 255: its upper bits go elsewhere in the device number (glibc's makedev).
      { path: '/dev/lab/blk', type: 'b', major: 7, minor: 1000, fileMode: 0o600 },
      { path: '/dev/lab-fifo', type: 'p', fileMode: 0o620, uid: 3 },
      // The runtime's own /dev/null (the host's, bind-mounted): the same device, left as it is.
      { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 },
    ];
  });
  const result = runc(root, ['run', '--bundle', bundle, id]);
  expect(result.stdout.split('\n').slice(0, 4)).toEqual([
    '/dev/lab-char character special file a:29a 666 1:2',
    '/dev/lab/blk block special file 7:3e8 600 0:0',
    '/dev/lab-fifo fifo 0:0 620 3:0',
    '/dev/null character special file 1:3 666 0:0',
  ]);
  // 10:666 has no driver: the open reaches the kernel's misc driver (ENODEV), the device cgroup
  // let it through (runc's default rules start with "deny all": without the node's rule, EPERM).
  expect(result.stderr).toMatch(/cat: can't open '\/dev\/lab-char': No such device\n$/);
  expect(result.status).toBe(1);
  expect(cgroupDirsNamed(id)).toEqual([]);
});

test('linux.devices under a user namespace: the agent makes the node from outside, its owner the document\'s ids as the container sees them', () => {
  const id = newId('userns');
  const bundle = makeBundle(join(work, 'userns'), join(work, 'images'), (spec) => {
    spec.process!.args = ['sh', '-c', 'stat -c "%n %F %t:%T %a %u:%g" /dev/lab-null; echo hi > /dev/lab-null && echo wrote'];
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    // sysfs and the cgroup tree belong to the host's user namespace: not part of this check.
    spec.mounts = spec.mounts!.filter((mount) => mount.destination !== '/sys' && mount.destination !== '/sys/fs/cgroup');
    spec.linux!.devices = [{ path: '/dev/lab-null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 5, gid: 6 }];
  });
  const result = runc(root, ['run', '--bundle', bundle, id]);
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe('/dev/lab-null character special file 1:3 666 5:6\nwrote\n');
  expect(result.status).toBe(0);
  expect(cgroupDirsNamed(id)).toEqual([]);
});

test('linux.devices refused in one line, the container undone: an existing other file, a symlink on the way', () => {
  const refusedWith = (name: string, devices: OciLinuxDevice[]): string => {
    const id = newId(name);
    const bundle = makeBundle(join(work, name), join(work, 'images'), (spec) => {
      spec.process!.args = ['true'];
      spec.linux!.devices = devices;
    });
    const result = runc(root, ['run', '--bundle', bundle, id]);
    expect(result.status).toBe(1);
    expect(cgroupDirsNamed(id)).toEqual([]);
    expect(existsSync(join(root, 'containers', id))).toBe(false);
    return result.stderr;
  };
  expect(refusedWith('exists', [{ path: '/dev/pts', type: 'c', major: 1, minor: 3 }]))
    .toBe('config.json: /linux/devices/0/path /dev/pts already exists in the container and is not this device\n');
  expect(refusedWith('symlink', [{ path: '/dev/fd/x', type: 'p' }]))
    .toBe('config.json: /linux/devices/0/path cannot be made: /dev/fd is not a directory (a symlink is not followed)\n');
});

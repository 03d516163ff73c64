/*
 * Seccomp profiles name the system calls of many machines at once: Docker's and containerd's
 * default profiles list i386's chown32 and _llseek, ARM's cacheflush, s390's s390_runtime_instr
 * beside x86-64's calls. runc hands each name to libseccomp, which resolves it for the filter's
 * architecture and leaves out, with a debug line, whatever it cannot resolve — even a typo.
 *
 *   containers-lab-runc does as runc does (checked against /usr/sbin/runc with the same bundle).
 *   The agent's own --seccomp leaves out another architecture's name (a debug line in its log,
 *   with CONTAINERS_LAB_DEBUG=1) but refuses, in one line, a name no architecture has.
 *
 * The kernel is asked: Seccomp: 2 in /proc/PID/status and mkdir failing with EPERM in the container.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { supportedArch } from '../agent/kernel/constants';
import { SYSCALL_TABLE } from '../agent/kernel/syscall-table.generated';
import type { OciSeccomp } from '../agent/protocol';
import { compileSeccomp, letsThrough, seccompForArch, seccompVerdict, syscallNameKind } from '../agent/runtime/seccomp';
import { cgroupDirsNamed, NONE_LEFT } from './helpers/kernel-witness';
import { becomeSubreaper, ensureRuncBuilt, makeBundle, runc } from './helpers/runc';
import { removeAllAndStop, startService, type RunningService } from './helpers/service';

const arch = supportedArch();
const nr = (name: string): number => SYSCALL_TABLE[arch][name]!;
/** Names of other machines that Docker's default profile lists (none is a call on x86-64 or aarch64). */
const OTHER_MACHINES = ['chown32', '_llseek', '_newselect', 'cacheflush', 'set_tls', 'arm_fadvise64_64', 's390_runtime_instr', 'riscv_flush_icache', 'ugetrlimit', 'socketcall'];
const TYPO = 'runcmore_no_such_call';
const denyMkdir = (extra: string[]): OciSeccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [
    { names: [...extra, 'mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
    { names: ['cacheflush', 'set_tls'], action: 'SCMP_ACT_KILL' }, // a rule only ARM's calls: gone on this machine
  ],
});

describe('the names', () => {
  test('every name of another machine in Docker\'s profile is known as one; a typo is no system call', () => {
    for (const name of OTHER_MACHINES) expect(syscallNameKind(name), name).toBe('elsewhere');
    expect(syscallNameKind('mkdirat')).toBe('here');
    expect(syscallNameKind(arch === 'x64' ? 'renameat' : 'arch_prctl')).toBe(arch === 'x64' ? 'here' : 'elsewhere');
    for (const name of [TYPO, 'constructor', '__proto__', 42]) expect(syscallNameKind(name)).toBe('unknown');
  });

  test('the agent\'s compiler leaves another machine\'s names out, telling each, and refuses a typo in one line', () => {
    const told: string[] = [];
    const filter = compileSeccomp(denyMkdir(OTHER_MACHINES), arch, { skipped: (line) => told.push(line) });
    expect(told).toContain(`seccomp: "chown32" is not a system call on ${arch}; its rule is left out for it`);
    expect(told).toHaveLength(OTHER_MACHINES.length + 2);
    expect(letsThrough(seccompVerdict(filter, nr('mkdirat')))).toBe(false);
    expect(letsThrough(seccompVerdict(filter, nr('getpid')))).toBe(true);
    expect(() => compileSeccomp(denyMkdir([TYPO]))).toThrow(`seccomp: unknown system call name "${TYPO}" (no architecture has it)`);
  });

  test('runc\'s way: every unresolvable name goes (a typo too), a rule left with no name goes, the rest is as written', () => {
    const told: string[] = [];
    const profile = seccompForArch(denyMkdir([...OTHER_MACHINES, TYPO]), (line) => told.push(line));
    expect(profile.syscalls).toEqual([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }]);
    expect(told).toContain(`seccomp: "${TYPO}" is no system call this runtime knows; ignored, as libseccomp does`);
    expect(told).toContain(`seccomp: "_llseek" is not a system call on ${arch}; ignored, as libseccomp does`);
    expect(told).toHaveLength(OTHER_MACHINES.length + 3);
    expect(letsThrough(seccompVerdict(compileSeccomp(profile), nr('mkdir')))).toBe(false);
  });
});

describe('containers-lab-runc and runc with the same bundle', () => {
  let work: string;
  const PROGRAM = 'grep Seccomp: /proc/self/status; mkdir /made 2>&1; echo "mkdir: $?"; touch /touched && echo touched';

  beforeAll(() => {
    ensureRuncBuilt();
    becomeSubreaper();
    work = mkdtempSync(join(tmpdir(), 'runcmore-seccomp-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('names of other machines and a typo are left out: the filter is in, mkdir is refused, the rest runs; --debug logs each name', () => {
    const bundle = makeBundle(join(work, 'bundle'), join(work, 'images'), (spec) => {
      spec.process!.args = ['sh', '-c', PROGRAM];
      spec.root!.readonly = false;
      spec.linux!.seccomp = denyMkdir([...OTHER_MACHINES, TYPO]);
    });
    const expected = 'Seccomp:\t2\nmkdir: can\'t create directory \'/made\': Operation not permitted\nmkdir: 1\ntouched\n';

    const log = join(work, 'ours.log');
    const id = `runcmore-seccomp-${process.pid}`;
    const ours = runc(join(work, 'root'), ['run', '--bundle', bundle, id], { global: ['--debug', '--log', log, '--log-format', 'json'] });
    expect(ours.stderr).toBe('');
    expect({ status: ours.status, stdout: ours.stdout }).toEqual({ status: 0, stdout: expected });
    const debug = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { level: string; msg: string }).filter(({ level }) => level === 'debug').map(({ msg }) => msg);
    expect(debug).toContain(`seccomp: "${TYPO}" is no system call this runtime knows; ignored, as libseccomp does`);
    expect(debug).toContain(`seccomp: "chown32" is not a system call on ${arch}; ignored, as libseccomp does`);
    expect(cgroupDirsNamed(id)).toEqual([]);

    // runc 1.1 (libseccomp) with the same bundle: the same run.
    rmSync(join(bundle, 'rootfs', 'made'), { recursive: true, force: true });
    rmSync(join(bundle, 'rootfs', 'touched'), { force: true });
    const theirs = spawnSync('/usr/sbin/runc', ['--root', join(work, 'runc-root'), 'run', '--bundle', bundle, `${id}-runc`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    expect({ status: theirs.status, stdout: theirs.stdout }).toEqual({ status: 0, stdout: expected });
    expect(cgroupDirsNamed(`${id}-runc`)).toEqual([]);
  });
});

describe('the agent\'s --seccomp', () => {
  let work: string;
  let service: RunningService;

  beforeAll(async () => {
    work = mkdtempSync('/tmp/runcmore-seccomp-agent-');
    mkdirSync(join(work, 'run'), { mode: 0o700 });
    service = await startService(join(work, 'state'), join(work, 'run', 'agent.sock'), [], { CONTAINERS_LAB_DEBUG: '1' });
  });

  afterAll(async () => {
    expect(await removeAllAndStop(service, join(work, 'state'))).toEqual(NONE_LEFT);
    rmSync(work, { recursive: true, force: true });
  });

  test('another machine\'s names are left out with a debug line; the filter holds for the rest', async () => {
    const record = await service.client.call('container.run', {
      name: 'runcmore-other-arch', net: 'none', seccomp: denyMkdir(OTHER_MACHINES),
      args: ['sh', '-c', 'mkdir /made 2>&1; echo "mkdir: $?"; sleep 1000'],
    });
    expect(readFileSync(`/proc/${record.pid}/status`, 'utf8')).toMatch(/^Seccomp:\t2$/m);
    const logs = async () => Buffer.from((await service.client.call('container.logs', { id: record.id })).data, 'base64').toString();
    await expect.poll(logs).toBe('mkdir: can\'t create directory \'/made\': Operation not permitted\nmkdir: 1\n');
    expect(service.stderr()).toContain(`containers-lab debug: seccomp: "s390_runtime_instr" is not a system call on ${arch}; its rule is left out for it`);
  });

  test('a name no machine has is one line, and nothing is made', async () => {
    const before = await service.client.call('container.list', {});
    await expect(service.client.call('container.run', { name: 'runcmore-typo', net: 'none', seccomp: denyMkdir([TYPO]), args: ['true'] }))
      .rejects.toThrow(`seccomp: unknown system call name "${TYPO}" (no architecture has it)`);
    expect(await service.client.call('container.list', {})).toEqual(before);
  });
});

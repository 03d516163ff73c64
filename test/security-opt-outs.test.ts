/*
 * Turning each default protection off, so a learner can see what it held back — and the kernel
 * showing that it is off:
 *
 *   --device-cgroup-rule "c 10:200 rwm"   /dev/net/tun opens (EPERM without it); /dev/fuse still EPERM;
 *                                         the rule is in devices.list (v1) and the eBPF program changes (v2)
 *   --device-cgroup-rule "a *:* rwm"      every device opens
 *   --no-new-keyring                      no _ses.<id> in /proc/keys: the process is in its caller's
 *                                         session keyring — seen from inside, it possesses a keyring
 *                                         this test made possessor-only (invisible to everyone else)
 *   --privileged                          Seccomp 0, CapEff = every capability the runtime holds, tun
 *                                         opens, /proc/keys readable inside; the keyring is still its own
 *
 * Unit level: the command line, the Docker rule syntax and its one-line refusals, the config.json
 * each option writes. Real kernel: the in-process runtime, as root; each claim read from
 * /proc/<pid>/status, /proc/keys, the cgroup's files and the container's own attempts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord, OciSpec, RunOptions } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { parseVerbArgs } from '../agent/command-line/args';
import { RUN_SPEC, runOptionsFrom } from '../agent/command-line/run-options';
import { ANNOTATIONS, configFromRunOptions, DEFAULT_MASKED_PATHS, sessionKeyringFromConfig } from '../agent/oci/from-run-options';
import { formatDeviceCgroupRule, parseDeviceCgroupRule } from '../agent/oci/device-cgroup-rule';
import { heldCapabilities, securityFromRunOptions } from '../agent/oci/security-options';
import { validateConfig } from '../agent/oci/validate';
import { DEFAULT_DEVICE_RULES } from '../agent/runtime/cgroups/device-rules';
import { deviceProgramsOf } from '../agent/runtime/cgroups/device-filter';
import { CAPABILITY_NAMES, DEFAULT_CAPABILITIES } from '../agent/runtime/capabilities';
import { hasSessionKeyring, sessionKeyringName } from '../agent/runtime/process/session-keyring';
import { declare } from '../agent/kernel/libc';
import { supportedArch } from '../agent/kernel/constants';
import { SYSCALL_TABLE } from '../agent/kernel/syscall-table.generated';
import { LabError } from '../agent/errors';
import { execCollect } from './helpers/exec';
import { runCli } from './helpers/cli';
import { leftovers, NONE_LEFT } from './helpers/kernel-witness';

const EPERM = /can't (?:open|create) '?[^':]+'?: Operation not permitted/;
const config = (options: RunOptions): OciSpec => configFromRunOptions(options, { rootfs: '/unused' });
const parse = (...argv: string[]): RunOptions => runOptionsFrom(parseVerbArgs(RUN_SPEC, [...argv, 'busybox']));

/** The one-line bad-input message of `make`, or a failure if it did not throw one. */
function refusal(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).kind).toBe('bad-input');
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('the options, as words and as config.json', () => {
  test('the command line: --device-cgroup-rule (repeatable), --no-new-keyring, --privileged', () => {
    expect(parse('--device-cgroup-rule', 'c 10:200 rwm', '--device-cgroup-rule', 'c 10:229 rwm', '--no-new-keyring', '--privileged')).toEqual({
      image: 'busybox', deviceCgroupRules: ['c 10:200 rwm', 'c 10:229 rwm'], noNewKeyring: true, privileged: true,
    });
    expect(parse()).toEqual({ image: 'busybox' });
  });

  test('Docker\'s rule syntax, and one line naming what is wrong', () => {
    expect(parseDeviceCgroupRule('c 10:200 rwm')).toEqual({ allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' });
    expect(parseDeviceCgroupRule('c 1:3 mr')).toEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rm' });
    expect(parseDeviceCgroupRule(' b  8:*  r ')).toEqual({ allow: true, type: 'b', major: 8, access: 'r' });
    expect(parseDeviceCgroupRule('a *:* rwm')).toEqual({ allow: true, type: 'a', access: 'rwm' });
    for (const text of ['c 10:200 rwm', 'c 1:3 rm', 'b 8:* r', 'a *:* rwm']) expect(formatDeviceCgroupRule(parseDeviceCgroupRule(text))).toBe(text);
    expect(refusal(() => parseDeviceCgroupRule('c 10:200'))).toBe('invalid device cgroup rule "c 10:200": use TYPE MAJOR:MINOR ACCESS, e.g. "c 10:200 rwm" (a *:* rwm allows every device)');
    expect(refusal(() => parseDeviceCgroupRule('x 1:3 r'))).toMatch(/^invalid device cgroup rule "x 1:3 r": use TYPE/);
    expect(refusal(() => parseDeviceCgroupRule('c 1:3 rx'))).toMatch(/^invalid device cgroup rule "c 1:3 rx"/);
    expect(refusal(() => parseDeviceCgroupRule('c 4096:0 r'))).toBe('device cgroup rule "c 4096:0 r": major 4096 is too large (at most 4095)');
    expect(refusal(() => parseDeviceCgroupRule('c 1:1048576 r'))).toMatch(/minor 1048576 is too large \(at most 1048575\)$/);
    expect(refusal(() => parseDeviceCgroupRule('c 1:3 rr'))).toMatch(/access "rr" names a letter twice$/);
    expect(refusal(() => parseDeviceCgroupRule('a 1:3 rwm'))).toMatch(/type a means every device: write "a \*:\* rwm"$/);
    expect(refusal(() => parseDeviceCgroupRule(`c 1:3 r\nmore`))).toMatch(/^invalid device cgroup rule "c 1:3 r\\nmore"/);
    expect(refusal(() => parseDeviceCgroupRule('c '.repeat(10_000)))).toMatch(/"(c ){20}…"/);
    expect(refusal(() => config({ deviceCgroupRules: 'c 1:3 r' as unknown as string[] }))).toMatch(/^invalid deviceCgroupRules: give a list/);
  });

  test('--device-cgroup-rule: appended to the defaults, and written down in Docker\'s words', () => {
    const spec = config({ deviceCgroupRules: ['c 10:200 rwm', 'a *:* rwm'] });
    expect(spec.linux!.resources!.devices).toEqual([...DEFAULT_DEVICE_RULES, { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, { allow: true, type: 'a', access: 'rwm' }]);
    expect(JSON.parse(spec.annotations![ANNOTATIONS.deviceCgroupRules]!)).toEqual(['c 10:200 rwm', 'a *:* rwm']);
    expect(validateConfig(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    expect(config({}).annotations![ANNOTATIONS.deviceCgroupRules]).toBeUndefined();
  });

  test('--no-new-keyring: the annotation session-keyring "host", read back; other values are refused', () => {
    const spec = config({ noNewKeyring: true });
    expect(spec.annotations![ANNOTATIONS.sessionKeyring]).toBe('host');
    expect(sessionKeyringFromConfig(spec)).toBe('host');
    expect(sessionKeyringFromConfig(config({}))).toBe('own');
    expect(config({}).annotations![ANNOTATIONS.sessionKeyring]).toBe('own');
    const { [ANNOTATIONS.sessionKeyring]: _written, ...withoutIt } = spec.annotations!;
    expect(sessionKeyringFromConfig({ ...spec, annotations: withoutIt })).toBe('own'); // a --config document that says nothing
    expect(refusal(() => sessionKeyringFromConfig({ ...spec, annotations: { [ANNOTATIONS.sessionKeyring]: 'mine' } }))).toBe(
      'annotations["lab.containers.session-keyring"] "mine": use "own" (a new session keyring) or "host" (the caller\'s)',
    );
  });

  test('--privileged: every held capability, no filter, every device, nothing masked, /sys writable', () => {
    const held = heldCapabilities();
    const spec = config({ privileged: true });
    expect(spec.process!.capabilities!.bounding).toEqual(held);
    expect(spec.process!.capabilities!.effective).toEqual(held);
    expect(spec.linux!.seccomp).toBeUndefined();
    expect(spec.annotations).toMatchObject({ [ANNOTATIONS.privileged]: 'true', [ANNOTATIONS.seccomp]: 'unconfined' });
    expect(spec.linux!.resources!.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(spec.linux!.maskedPaths).toBeUndefined();
    expect(spec.linux!.readonlyPaths).toBeUndefined();
    expect(spec.mounts!.find((mount) => mount.destination === '/sys')!.options).not.toContain('ro');
    expect(config({}).mounts!.find((mount) => mount.destination === '/sys')!.options).toContain('ro');
    expect(config({}).linux!.maskedPaths).toEqual(DEFAULT_MASKED_PATHS);
    expect(sessionKeyringFromConfig(spec)).toBe('own'); // as Docker: privileged, but not in the host's keyring
    expect(validateConfig(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    // What would change nothing is refused, not ignored.
    expect(refusal(() => config({ privileged: true, capDrop: ['NET_RAW'] }))).toBe('--privileged gives every capability: leave --cap-add and --cap-drop out');
    expect(refusal(() => config({ privileged: true, seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } }))).toBe('--privileged runs without a seccomp filter: leave --seccomp out');
    expect(refusal(() => config({ privileged: true, deviceCgroupRules: ['c 10:200 rwm'] }))).toBe('--privileged already allows every device: leave --device-cgroup-rule out');
    expect(config({ privileged: true, seccomp: 'unconfined' }).linux!.seccomp).toBeUndefined();
    expect(refusal(() => config({ privileged: 'yes' as unknown as boolean }))).toBe('invalid privileged "yes": use true or false');
  });

  test('capabilities: ALL is every one the runtime holds; one it lacks, named, is refused', () => {
    const lacking = CAPABILITY_NAMES.filter((name) => name !== 'CAP_SYS_RESOURCE');
    expect(securityFromRunOptions({ capAdd: ['ALL'] }, lacking).capabilities.bounding).toEqual(lacking);
    expect(securityFromRunOptions({ privileged: true }, lacking).capabilities.effective).toEqual(lacking);
    expect(refusal(() => securityFromRunOptions({ capAdd: ['SYS_RESOURCE'] }, lacking))).toBe(
      "SYS_RESOURCE cannot be added: CAP_SYS_RESOURCE is not in this runtime's bounding set (the host does not grant it)",
    );
    expect([...securityFromRunOptions({}, lacking).capabilities.bounding!].sort()).toEqual([...DEFAULT_CAPABILITIES].sort());
  });
});

// ---------------------------------------------------------------------------------------------
// The kernel.

const keyctl = declare('long syscall(long number, ...)');
const SYS_KEYCTL = SYSCALL_TABLE[supportedArch()].keyctl!;
const KEYCTL_JOIN_SESSION_KEYRING = 1;
const KEYCTL_SETPERM = 5;
/** KEY_POS_ALL: the key's possessors may do anything; its owner, group and others nothing — not even see it. */
const POSSESSOR_ONLY = 0x3f000000;

describe('in the kernel', () => {
  let stateRoot: string;
  let runtime: ContainerRuntime;
  const made: ContainerRecord[] = [];
  /** This test process's own session keyring: possessor-only, so only processes subscribed to it see it. */
  const marker = `cl-optouts-${process.pid}`;

  beforeAll(() => {
    // Containers are cloned from this thread and inherit its session keyring unless they make their own.
    const serial = Number(keyctl(SYS_KEYCTL, 'int', KEYCTL_JOIN_SESSION_KEYRING, 'str', marker));
    expect(serial, 'keyctl(KEYCTL_JOIN_SESSION_KEYRING)').toBeGreaterThan(0);
    expect(Number(keyctl(SYS_KEYCTL, 'int', KEYCTL_SETPERM, 'int', serial, 'uint32', POSSESSOR_ONLY)), 'keyctl(KEYCTL_SETPERM)').toBe(0);
    stateRoot = mkdtempSync('/tmp/cl-security-opt-outs-');
    runtime = openRuntime({ stateRoot });
  });

  afterAll(async () => {
    for (const record of runtime.list()) await runtime.remove(record.id, true);
    expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
    runtime.close();
    rmSync(stateRoot, { recursive: true, force: true });
  });

  async function run(options: RunOptions): Promise<ContainerRecord> {
    const record = await runtime.run({ net: 'none', args: ['sleep', '60'], ...options });
    made.push(record);
    return runtime.inspect(record.id);
  }
  const sh = (record: ContainerRecord, script: string) => execCollect(runtime, record.id, ['sh', '-c', script]);
  const status = (pid: number | 'self', name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.trim();
  /** mknod (always allowed, as in Docker) then open read-write: the shell's words when it fails. */
  async function openDevice(record: ContainerRecord, node: string, major: number, minor: number): Promise<{ opened: boolean; stderr: string }> {
    const result = await sh(record, `mkdir -p $(dirname ${node}); mknod ${node} c ${major} ${minor}; true 3<>${node} && echo opened`);
    return { opened: result.stdout.includes('opened'), stderr: result.stderr };
  }
  const keysInside = async (record: ContainerRecord): Promise<string> => (await sh(record, 'cat /proc/keys')).stdout;

  test('the test\'s marker keyring is seen by its possessors only', () => {
    expect(readFileSync('/proc/keys', 'utf8')).toContain(` ${marker}: `);
  });

  test('default: tun refused (EPERM); --device-cgroup-rule "c 10:200 rwm": tun opens, fuse still refused — in devices.list and a new eBPF program', async () => {
    const plain = await run({ name: 'optout-dev-default' });
    const denied = await openDevice(plain, '/dev/net/tun', 10, 200);
    expect(denied.opened).toBe(false);
    expect(denied.stderr).toMatch(EPERM);

    const tun = await run({ name: 'optout-dev-tun', deviceCgroupRules: ['c 10:200 rwm'] });
    expect(await openDevice(tun, '/dev/net/tun', 10, 200)).toMatchObject({ opened: true });
    const fuse = await openDevice(tun, '/dev/fuse', 10, 229);
    expect(fuse.opened).toBe(false);
    expect(fuse.stderr).toMatch(EPERM);
    // The record says it and the kernel holds it: the v1 list has the rule; the v2 program is another one.
    const devices = tun.cgroup!.devices!;
    expect(devices.rules.at(-1)).toBe('allow c 10:200 rwm');
    if (devices.mechanisms.includes('devices.list')) {
      const list = readFileSync(tun.cgroup!.files.devices!, 'utf8').trim().split('\n');
      expect(list).toContain('c 10:200 rwm');
      expect(devices.list).toEqual(list);
    }
    if (devices.mechanisms.includes('ebpf')) {
      const programs = deviceProgramsOf(tun.cgroup!.directories.unified!);
      expect(devices.programs).toEqual(programs);
      expect(programs).toHaveLength(1);
      expect(programs).not.toEqual(plain.cgroup!.devices!.programs);
    }
  });

  test('--device-cgroup-rule "a *:* rwm" lifts the whole list: devices.list says a *:* rwm, loop-control opens', async () => {
    const all = await run({ name: 'optout-dev-all', deviceCgroupRules: ['a *:* rwm'] });
    if (all.cgroup!.devices!.mechanisms.includes('devices.list')) expect(readFileSync(all.cgroup!.files.devices!, 'utf8').trim()).toBe('a *:* rwm');
    expect(await openDevice(all, '/dev/net/tun', 10, 200)).toMatchObject({ opened: true });
    const loop = await openDevice(all, '/dev/loop-control', 10, 237);
    expect(loop.stderr).not.toMatch(EPERM);
  });

  test('a bad rule is one line from the CLI and leaves nothing behind', async () => {
    const root = mkdtempSync('/tmp/cl-security-opt-outs-cli-');
    try {
      const result = await runCli(['--root', root, '--socket', `${root}/no-agent.sock`, 'run', '--net', 'none', '--name', 'bad-rule', '--device-cgroup-rule', 'c 10:200 rwx', 'busybox']);
      expect(result.code).not.toBe(0);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/invalid device cgroup rule "c 10:200 rwx": use TYPE MAJOR:MINOR ACCESS/);
      const listed = await runCli(['--root', root, '--socket', `${root}/no-agent.sock`, 'ps', '-a', '--json']);
      expect(JSON.parse(listed.stdout)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('the command line, through the agent\'s parameter checks: --seccomp unconfined --no-new-keyring --device-cgroup-rule, then --privileged', async () => {
    const root = mkdtempSync('/tmp/cl-security-opt-outs-cli-');
    const cli = (...argv: string[]) => runCli(['--root', root, '--socket', `${root}/no-agent.sock`, ...argv]);
    const made: { id: string; pid: number | null }[] = [];
    try {
      const started = await cli('run', '-d', '--name', 'cli-optouts', '--net', 'none', '--seccomp', 'unconfined', '--no-new-keyring', '--device-cgroup-rule', 'c 10:200 rwm', 'busybox', '--', 'sleep', '60');
      expect(started.stderr).toBe('');
      expect(started.code).toBe(0);
      const record = JSON.parse((await cli('inspect', '--json', 'cli-optouts')).stdout) as ContainerRecord;
      made.push({ id: record.id, pid: record.pid });
      expect(status(record.pid!, 'Seccomp')).toBe('0');
      expect(hasSessionKeyring(record.id)).toBe(false);
      expect(record.cgroup!.devices!.rules.at(-1)).toBe('allow c 10:200 rwm');
      const privileged = await cli('run', '-d', '--name', 'cli-privileged', '--net', 'none', '--privileged', 'busybox', '--', 'sleep', '60');
      expect(privileged.code, privileged.stderr).toBe(0);
      const other = JSON.parse((await cli('inspect', '--json', 'cli-privileged')).stdout) as ContainerRecord;
      made.push({ id: other.id, pid: other.pid });
      expect(status(other.pid!, 'CapEff')).toBe(status('self', 'CapBnd'));
      const clash = await cli('run', '-d', '--name', 'cli-clash', '--net', 'none', '--privileged', '--cap-drop', 'NET_RAW', 'busybox');
      expect(clash.code).not.toBe(0);
      expect(clash.stderr.trim()).toMatch(/--privileged gives every capability: leave --cap-add and --cap-drop out$/);
      for (const name of ['cli-optouts', 'cli-privileged']) expect((await cli('rm', '-f', name)).code).toBe(0);
      expect(leftovers(root, made)).toEqual(NONE_LEFT);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('default vs --privileged: Seccomp 2 vs 0, CapEff the default 14 vs every held one, /proc/keys masked vs readable', async () => {
    const plain = await run({ name: 'optout-plain' });
    const privileged = await run({ name: 'optout-privileged', privileged: true });
    expect(status(plain.pid!, 'Seccomp')).toBe('2');
    expect(status(privileged.pid!, 'Seccomp')).toBe('0');
    expect(status(plain.pid!, 'CapEff')).toBe('00000000a80425fb'); // Docker's default 14
    expect(status(privileged.pid!, 'CapEff')).toBe(status('self', 'CapBnd'));
    expect(status(privileged.pid!, 'CapBnd')).toBe(status('self', 'CapBnd'));
    expect(privileged.security).toMatchObject({ seccomp: 'disabled', seccompProfile: 'unconfined', sessionKeyring: true });
    expect(privileged.cgroup!.devices!.rules).toEqual(['allow a']);
    expect(await openDevice(privileged, '/dev/net/tun', 10, 200)).toMatchObject({ opened: true });
    // Masked paths are gone: /proc/keys lists keyrings inside; in the default container it is empty.
    expect(await keysInside(plain)).toBe('');
    expect(await keysInside(privileged)).toContain(` ${sessionKeyringName(privileged.id)}: `);
    // mount needs CAP_SYS_ADMIN and a seccomp profile that allows it: privileged has both.
    expect((await sh(privileged, 'mkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t && grep -c " /mnt/t " /proc/self/mountinfo')).stdout.trim()).toBe('1');
    expect((await sh(plain, 'mkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t')).code).not.toBe(0);
  });

  test('--cap-add ALL holds every capability the runtime holds, under the default profile for them', async () => {
    const record = await run({ name: 'optout-all-caps', capAdd: ['ALL'] });
    expect(status(record.pid!, 'CapEff')).toBe(status('self', 'CapBnd'));
    expect(status(record.pid!, 'Seccomp')).toBe('2');
    expect(record.security!.seccompProfile).toBe('default');
  });

  test('--no-new-keyring: no _ses.<id>; inside, the caller\'s possessor-only keyring is visible (it is the session keyring)', async () => {
    // The first process itself prints what it sees, then waits.
    const firstSees = { args: ['sh', '-c', 'cat /proc/keys; echo end-of-keys; sleep 60'] };
    const own = await run({ name: 'optout-keyring-own', privileged: true, ...firstSees });
    const shared = await run({ name: 'optout-keyring-host', privileged: true, noNewKeyring: true, ...firstSees });
    expect(hasSessionKeyring(own.id)).toBe(true);
    expect(hasSessionKeyring(shared.id)).toBe(false);
    expect(shared.security!.sessionKeyring).toBe(false);
    expect(shared.config.annotations![ANNOTATIONS.sessionKeyring]).toBe('host');
    // Possession is the kernel's word for "is in my keyrings": only a process in this test's session keyring sees it.
    const logOf = async (record: ContainerRecord): Promise<string> => {
      await expect.poll(() => readFileSync(record.logPath, 'utf8'), { timeout: 5000 }).toContain('end-of-keys');
      return readFileSync(record.logPath, 'utf8');
    };
    expect(await logOf(shared)).toContain(` ${marker}: `);
    expect(await logOf(own)).not.toContain(` ${marker}: `);
    expect(await logOf(own)).toContain(` ${sessionKeyringName(own.id)}: `);
    // Execs follow the container: in the caller's keyring there, a new anonymous one in the other.
    expect(await keysInside(shared)).toContain(` ${marker}: `);
    expect(await keysInside(own)).not.toContain(` ${marker}: `);
    // And a default container with --no-new-keyring runs (under the filter keyctl stays refused).
    const plain = await run({ name: 'optout-keyring-plain', noNewKeyring: true });
    expect(status(plain.pid!, 'Seccomp')).toBe('2');
    expect(hasSessionKeyring(plain.id)).toBe(false);
  });
});

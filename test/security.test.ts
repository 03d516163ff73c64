/*
 * securityContext for real: the user a container runs as, its capabilities, no_new_privs, a
 * seccomp profile and a read-only root — each read back from the kernel (/proc/<pid>/status,
 * /proc/<pid>/mountinfo) and shown in action (what the container can and cannot do).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { ContainerRuntime } from '../agent/runtime/api';
import { capabilitiesFromStatus, capabilitySet, DEFAULT_CAPABILITIES } from '../agent/runtime/capabilities';
import { compileSeccomp } from '../agent/runtime/seccomp';
import { execCollect } from './helpers/exec';
import { useRuntime } from './helpers/runtime-fixture';

const fixture = useRuntime('security-test');
const runtime = (): ContainerRuntime => fixture.runtime();
const run = fixture.run;

const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const field = (pid: number, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status(pid))?.[1]?.trim();

describe('capabilities', () => {
  test('a default container holds Docker’s 14 capabilities in its bounding and effective sets, and cannot mount', async () => {
    const record = await run({ name: 'caps-default' });
    const caps = capabilitiesFromStatus(status(record.pid!));
    expect(caps.bounding).toEqual(capabilitySet());
    expect(caps.effective).toEqual(capabilitySet());
    expect(caps.bounding).toHaveLength(DEFAULT_CAPABILITIES.length);
    expect(caps.bounding).not.toContain('CAP_SYS_ADMIN');
    const mount = await execCollect(runtime(), record.id, ['mount', '-t', 'tmpfs', 'tmpfs', '/tmp']);
    expect(mount.code).not.toBe(0);
    expect(mount.stderr).toMatch(/permission denied|not permitted/i);
    // An exec gets the container's sets too (docker exec is no way around them) …
    const inExec = await execCollect(runtime(), record.id, ['grep', 'CapBnd', '/proc/self/status']);
    expect(inExec.stdout).toContain(field(record.pid!, 'CapBnd'));
    // … unless it is a privileged setup step.
    const privileged = await new Promise<string>((resolve) => {
      const session = runtime().exec({ id: record.id, args: ['grep', 'CapEff', '/proc/self/status'], privileged: true });
      let out = '';
      session.onOutput((_s, data) => { out += data.toString(); });
      session.close();
      session.onExit(() => resolve(out));
    });
    expect(privileged).toContain(field(process.pid, 'CapEff'));
  });

  test('--cap-add NET_ADMIN lets root change the network; --cap-drop ALL leaves nothing', async () => {
    const admin = await run({ name: 'caps-netadmin', capAdd: ['NET_ADMIN'] });
    expect(capabilitiesFromStatus(status(admin.pid!)).effective).toContain('CAP_NET_ADMIN');
    expect((await execCollect(runtime(), admin.id, ['ip', 'link', 'set', 'lo', 'down'])).code).toBe(0);
    const plain = await run({ name: 'caps-plain' });
    expect((await execCollect(runtime(), plain.id, ['ip', 'link', 'set', 'lo', 'down'])).code).not.toBe(0);
    const none = await run({ name: 'caps-none', capDrop: ['ALL'] });
    expect(field(none.pid!, 'CapBnd')).toBe('0000000000000000');
    expect(field(none.pid!, 'CapEff')).toBe('0000000000000000');
    expect((await execCollect(runtime(), none.id, ['chown', '1:1', '/tmp'])).code).not.toBe(0);
  });

  test('an unknown capability is refused before anything is made', async () => {
    await expect(runtime().run({ name: 'caps-bad', capAdd: ['NET_WIZARD'] })).rejects.toThrow(/unknown capability "NET_WIZARD"/);
    expect(runtime().list().some((c) => c.name === 'caps-bad')).toBe(false);
  });
});

describe('user, no_new_privs, read-only root', () => {
  test('--user 1000:1000 runs the process as that uid/gid, with no capabilities left effective', async () => {
    const record = await run({ name: 'as-user', user: '1000:1000' });
    expect(field(record.pid!, 'Uid')!.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
    expect(field(record.pid!, 'Gid')!.split(/\s+/)[0]).toBe('1000');
    expect(field(record.pid!, 'CapEff')).toBe('0000000000000000');
    expect((await execCollect(runtime(), record.id, ['id', '-u'])).stdout.trim()).toBe('1000');
    expect((await execCollect(runtime(), record.id, ['touch', '/etc/owned'])).code).not.toBe(0);
  });

  test('the container record reports what the kernel enforces', async () => {
    const record = runtime().inspect((await run({ name: 'record-security', user: '1000:1000', readOnlyRoot: true, noNewPrivileges: true, capDrop: ['ALL'], capAdd: ['KILL'] })).id);
    expect(record.security).toEqual({
      uid: 1000, gid: 1000,
      capabilities: { effective: [], bounding: ['CAP_KILL'], ambient: [] },
      // The default seccomp profile, computed for a bounding set of CAP_KILL alone; a keyring of its own.
      noNewPrivileges: true, seccomp: 'filter', seccompProfile: 'default', sessionKeyring: true, readOnlyRoot: true,
    });
    expect(Number(field(record.pid!, 'Uid')!.split(/\s+/)[0])).toBe(record.security!.uid);
  });

  test('noNewPrivileges sets NoNewPrivs', async () => {
    const record = await run({ name: 'nnp', noNewPrivileges: true });
    expect(field(record.pid!, 'NoNewPrivs')).toBe('1');
    const plain = await run({ name: 'nnp-off' });
    expect(field(plain.pid!, 'NoNewPrivs')).toBe('0');
  });

  test('readOnlyRoot mounts / read-only; /tmp stays writable', async () => {
    const record = await run({ name: 'ro-root', readOnlyRoot: true });
    const root = readFileSync(`/proc/${record.pid}/mountinfo`, 'utf8').split('\n').find((line) => line.split(' ')[4] === '/');
    expect(root!.split(' ')[5]!.split(',')).toContain('ro');
    const write = await execCollect(runtime(), record.id, ['touch', '/new-file']);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/read-only/i);
    expect((await execCollect(runtime(), record.id, ['touch', '/tmp/ok'])).code).toBe(0);
  });

  test('a bad user is one clear line', async () => {
    await expect(runtime().run({ name: 'bad-user', user: 'alice' })).rejects.toThrow(/invalid user "alice"/);
  });
});

describe('seccomp', () => {
  const denyMkdir = {
    defaultAction: 'SCMP_ACT_ALLOW' as const,
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' as const, errnoRet: 1 }],
  };

  test('a profile denying mkdir: the filter is installed (Seccomp: 2) and mkdir fails with EPERM while touch works', async () => {
    const record = await run({ name: 'seccomp-mkdir', seccomp: denyMkdir });
    expect(field(record.pid!, 'Seccomp')).toBe('2');
    const mkdir = await execCollect(runtime(), record.id, ['mkdir', '/tmp/denied']);
    expect(mkdir.code).not.toBe(0);
    expect(mkdir.stderr).toMatch(/not permitted/i);
    expect((await execCollect(runtime(), record.id, ['touch', '/tmp/allowed'])).code).toBe(0);
    expect(record.config.linux?.seccomp).toEqual(denyMkdir);
  });

  test('argument conditions: deny only kill(…, SIGUSR1)', async () => {
    const record = await run({
      name: 'seccomp-args',
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 10, op: 'SCMP_CMP_EQ' }] }] },
    });
    expect((await execCollect(runtime(), record.id, ['sh', '-c', 'sleep 30 & p=$!; kill -USR1 $p; r=$?; kill -9 $p; exit $r'])).code).not.toBe(0);
    expect((await execCollect(runtime(), record.id, ['sh', '-c', 'sleep 30 & p=$!; kill -TERM $p'])).code).toBe(0);
  });

  test('the compiler refuses what it cannot express, in one line', () => {
    expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY' })).toThrow(/SCMP_ACT_NOTIFY" is not supported/);
    expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['no_such_call'], action: 'SCMP_ACT_ERRNO' }] })).toThrow(/unknown system call name "no_such_call"/);
  });
});

/*
 * Defaults as strong as Docker's: every container gets the default seccomp profile (computed from
 * its capabilities) and a session keyring of its own. The profile is checked twice — as a document
 * (the OCI schema, the classic-BPF verdicts of its compiled filter for each refused call) and in
 * action, for each class busybox can exercise: namespaces (unshare), mounts, chroot, personality.
 * The keyring is checked against the kernel's own list, /proc/keys.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { ContainerRecord, OciSeccomp, RunOptions } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { DEFAULT_CAPABILITIES } from '../agent/runtime/capabilities';
import { compiledSeccomp, compileSeccomp, letsThrough, seccompVerdict, type BpfInstruction } from '../agent/runtime/seccomp';
import { ANNOTATIONS, configFromRunOptions } from '../agent/oci/from-run-options';
import { validateConfig } from '../agent/oci/validate';
import {
  CLONE_NAMESPACE_FLAGS, LAST_REVIEWED, REFUSED, REFUSED_SOCKET_FAMILIES, defaultSeccompProfile, isDefaultSeccompProfile,
} from '../agent/oci/default-seccomp';
import { parseVerbArgs } from '../agent/command-line/args';
import { RUN_SPEC, runOptionsFrom } from '../agent/command-line/run-options';
import { CLONE_NEWUSER, SIGCHLD, supportedArch } from '../agent/kernel/constants';
import { SYSCALL_TABLE } from '../agent/kernel/syscall-table.generated';
import { hasSessionKeyring, sessionKeyringName } from '../agent/runtime/process/session-keyring';
import { execCollect } from './helpers/exec';
import { useRuntime } from './helpers/runtime-fixture';

const ALLOW = 0x7fff0000;
const errno = (value: number) => (0x00050000 | value) >>> 0;
const EPERM = 1;
const ENOSYS = 38;
const nr = (name: string): number => SYSCALL_TABLE[supportedArch()][name]!;
const here = (name: string): boolean => SYSCALL_TABLE[supportedArch()][name] !== undefined;
const verdict = (filter: BpfInstruction[], name: string, args: bigint[] = []) => seccompVerdict(filter, nr(name), args);

describe('the default profile as a document', () => {
  const plain = defaultSeccompProfile([...DEFAULT_CAPABILITIES]);
  const filter = compileSeccomp(plain);

  test('it is an allow-list (ERRNO/EPERM by default) that the OCI schema accepts, in a config.json run options make', () => {
    expect(plain).toMatchObject({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM });
    const spec = configFromRunOptions({ name: 'doc' }, { rootfs: '/unused' });
    expect(spec.linux!.seccomp).toBe(plain);
    expect(spec.annotations![ANNOTATIONS.seccomp]).toBe('default');
    expect(validateConfig(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    // Nothing the document names is unknown, and the kernel's limit of 4096 instructions holds.
    expect(filter.length).toBeLessThan(4096);
  });

  test('each refused call gets EPERM, unless a capability the container holds grants it', () => {
    const held = new Set<string>(DEFAULT_CAPABILITIES);
    for (const refusal of REFUSED) {
      for (const name of refusal.names.filter(here)) {
        const granted = (refusal.grantedBy ?? []).some((cap) => held.has(cap));
        expect(verdict(filter, name), `${name}: ${refusal.why}`).toBe(granted ? ALLOW : errno(EPERM));
      }
    }
    for (const name of ['keyctl', 'add_key', 'request_key', 'unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'bpf', 'perf_event_open',
      'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'kexec_load', 'init_module', 'finit_module', 'delete_module', 'reboot',
      'swapon', 'swapoff', 'acct', 'settimeofday', 'clock_settime', 'userfaultfd', 'open_by_handle_at', 'name_to_handle_at']) {
      expect(letsThrough(verdict(filter, name)), name).toBe(false);
    }
    // What programs need every day goes through; chroot comes with the default CAP_SYS_CHROOT, ptrace with Linux ≥ 4.8.
    for (const name of ['read', 'write', 'openat', 'execve', 'mmap', 'futex', 'chroot', 'ptrace', 'setresuid', 'capset', 'prctl']) {
      expect(verdict(filter, name), name).toBe(ALLOW);
    }
    // A call newer than the profile's review is refused until someone reads what it does.
    expect(seccompVerdict(filter, LAST_REVIEWED + 1)).toBe(errno(EPERM));
  });

  test('argument rules: clone without CLONE_NEW*, clone3 ENOSYS, Linux personalities, socket families but AF_ALG/AF_VSOCK', () => {
    expect(verdict(filter, 'clone', [BigInt(SIGCHLD)])).toBe(ALLOW);
    expect(verdict(filter, 'clone', [BigInt(SIGCHLD | CLONE_NEWUSER)])).toBe(errno(EPERM));
    expect(verdict(filter, 'clone', [BigInt(CLONE_NAMESPACE_FLAGS)])).toBe(errno(EPERM));
    expect(verdict(filter, 'clone3')).toBe(errno(ENOSYS));
    expect(verdict(filter, 'personality', [0xffffffffn])).toBe(ALLOW);
    expect(verdict(filter, 'personality', [0x8n])).toBe(ALLOW);
    expect(verdict(filter, 'personality', [0x0040000n])).toBe(errno(EPERM)); // ADDR_NO_RANDOMIZE
    for (const family of [1, 2, 10, 16, 17]) expect(verdict(filter, 'socket', [BigInt(family)]), `family ${family}`).toBe(ALLOW);
    for (const family of Object.keys(REFUSED_SOCKET_FAMILIES)) expect(verdict(filter, 'socket', [BigInt(family)])).toBe(errno(EPERM));
  });

  test('capabilities bring their calls: SYS_ADMIN mount, unshare, setns, clone with any flags; SYS_TIME the clock; a dropped SYS_CHROOT takes chroot', () => {
    const admin = compileSeccomp(defaultSeccompProfile([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']));
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'sethostname', 'clone3']) expect(verdict(admin, name), name).toBe(ALLOW);
    expect(verdict(admin, 'clone', [BigInt(SIGCHLD | CLONE_NEWUSER)])).toBe(ALLOW);
    expect(verdict(admin, 'keyctl')).toBe(errno(EPERM)); // never, whatever the capabilities
    expect(verdict(admin, 'kexec_load')).toBe(errno(EPERM));
    const time = compileSeccomp(defaultSeccompProfile(['CAP_SYS_TIME']));
    expect(verdict(time, 'settimeofday')).toBe(ALLOW);
    expect(verdict(time, 'chroot')).toBe(errno(EPERM));
  });

  test('built and compiled once per capability set', () => {
    expect(defaultSeccompProfile([...DEFAULT_CAPABILITIES])).toBe(plain);
    // Only the capabilities some rule depends on tell two profiles apart.
    expect(defaultSeccompProfile([...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN'])).toBe(plain);
    expect(defaultSeccompProfile([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'])).not.toBe(plain);
    expect(compiledSeccomp(plain)).toBe(compiledSeccomp(JSON.parse(JSON.stringify(plain)) as OciSeccomp));
    expect(Object.isFrozen(plain.syscalls![0]!.names)).toBe(true);
    expect(isDefaultSeccompProfile(JSON.parse(JSON.stringify(plain)) as OciSeccomp, [...DEFAULT_CAPABILITIES])).toBe(true);
    expect(isDefaultSeccompProfile(plain, [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'])).toBe(false);
  });

  test('run options: --seccomp unconfined, a file, or nothing (the default)', () => {
    const parse = (...argv: string[]) => runOptionsFrom(parseVerbArgs(RUN_SPEC, argv), () => '{"defaultAction":"SCMP_ACT_ALLOW"}');
    expect(parse('--seccomp', 'unconfined', 'busybox').seccomp).toBe('unconfined');
    expect(parse('--seccomp', './unconfined', 'busybox').seccomp).toEqual({ defaultAction: 'SCMP_ACT_ALLOW' });
    const config = (options: RunOptions) => configFromRunOptions(options, { rootfs: '/unused' });
    const unconfined = config({ seccomp: 'unconfined' });
    expect(unconfined.linux!.seccomp).toBeUndefined();
    expect(unconfined.annotations![ANNOTATIONS.seccomp]).toBe('unconfined');
    expect(config({ seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } }).annotations![ANNOTATIONS.seccomp]).toBe('custom');
    expect(() => config({ seccomp: 'confined' as unknown as OciSeccomp })).toThrow(/invalid seccomp: .* or "unconfined"/);
  });
});

describe('in action (real kernel)', () => {
  const fixture = useRuntime('default-security');
  const runtime = (): ContainerRuntime => fixture.runtime();
  const run = async (options: RunOptions): Promise<ContainerRecord> => runtime().inspect((await fixture.run(options)).id);
  const sh = (record: ContainerRecord, script: string) => execCollect(runtime(), record.id, ['sh', '-c', script]);
  const field = (pid: number, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim();

  test('a default container: filter on, unshare -U and mount refused with EPERM, chroot and linux32 allowed; the record names the profile', async () => {
    const record = await run({ name: 'default-profile' });
    expect(field(record.pid!, 'Seccomp')).toBe('2');
    expect(record.config.annotations![ANNOTATIONS.seccomp]).toBe('default');
    expect(record.security).toMatchObject({ seccomp: 'filter', seccompProfile: 'default', sessionKeyring: true });
    // A user namespace needs no capability at all: only the filter stands in the way.
    const unshare = await sh(record, 'unshare -U true');
    expect(unshare.code).not.toBe(0);
    expect(unshare.stderr).toMatch(/not permitted/i);
    const mount = await sh(record, 'mkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t');
    expect(mount.code).not.toBe(0);
    expect(mount.stderr).toMatch(/not permitted|permission denied/i);
    expect((await sh(record, 'chroot / true && linux32 true')).code).toBe(0);
  });

  test('the filter itself refuses mount: a document granting CAP_SYS_ADMIN but keeping the plain default profile', async () => {
    const spec = configFromRunOptions({ net: 'none', args: ['sleep', '60'], capAdd: ['SYS_ADMIN'] }, { rootfs: '/unused' });
    spec.linux!.seccomp = defaultSeccompProfile([...DEFAULT_CAPABILITIES]);
    const record = await run({ name: 'admin-filtered', config: spec });
    expect(record.security!.capabilities.effective).toContain('CAP_SYS_ADMIN');
    expect(record.security!.seccompProfile).toBe('custom'); // not the default for its capabilities
    const mount = await sh(record, 'mkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t');
    expect(mount.code).not.toBe(0);
    expect(mount.stderr).toMatch(/not permitted|permission denied/i); // busybox words EPERM "permission denied (are you root?)"
  });

  test('--cap-add SYS_ADMIN brings mount and unshare back; --user 1000 starts under the default profile too', async () => {
    const admin = await run({ name: 'admin-default', capAdd: ['SYS_ADMIN'] });
    expect(admin.security!.seccompProfile).toBe('default');
    expect((await sh(admin, 'mkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t && grep -c " /mnt/t " /proc/self/mountinfo')).stdout.trim()).toBe('1');
    expect((await sh(admin, 'unshare -U true')).code).toBe(0);
    const user = await run({ name: 'user-default', user: '1000:1000' });
    expect(field(user.pid!, 'Seccomp')).toBe('2');
    expect(field(user.pid!, 'Uid')!.split(/\s+/)[0]).toBe('1000');
  });

  test('--seccomp unconfined removes the filter (Seccomp: 0) and unshare -U works', async () => {
    const record = await run({ name: 'unconfined', seccomp: 'unconfined' });
    expect(field(record.pid!, 'Seccomp')).toBe('0');
    expect(record.config.linux!.seccomp).toBeUndefined();
    expect(record.config.annotations![ANNOTATIONS.seccomp]).toBe('unconfined');
    expect(record.security).toMatchObject({ seccomp: 'disabled', seccompProfile: 'unconfined' });
    expect((await sh(record, 'unshare -U true')).code).toBe(0);
  });

  test('a session keyring of its own: _ses.<id> in /proc/keys while it runs, gone with it; also in a user namespace', async () => {
    const record = await run({ name: 'keyring' });
    const mapped = await run({ name: 'keyring-userns', userns: true });
    const line = (id: string) => readFileSync('/proc/keys', 'utf8').split('\n').find((entry) => entry.includes(` ${sessionKeyringName(id)}:`));
    for (const container of [record, mapped]) {
      // "serial flags usage expiry perm uid gid keyring _ses.<id>: …" — held by the container's process alone.
      expect(line(container.id)).toMatch(/^\S+ \S+ +[1-9]\d* perm [0-9a-f]{8} +0 +\d+ keyring +_ses\./);
      expect(container.security!.sessionKeyring).toBe(true);
    }
    // Inside, /proc/keys is one of the masked paths (as in Docker): the container cannot even list keys.
    expect(record.config.linux!.maskedPaths).toContain('/proc/keys');
    expect((await sh(record, 'cat /proc/keys')).stdout).toBe('');
    await runtime().remove(record.id, true);
    await expect.poll(() => hasSessionKeyring(record.id), { timeout: 5000 }).toBe(false);
  });
});

/*
 * The Anatomy's Security section as a model, on real containers: the rows say what the kernel
 * shows (/proc/<pid>/status, /proc/keys, the cgroup's files), and "Try without" builds a copy whose
 * options ask for the very same config.json as the original (read back from it), with exactly one
 * protection switched — which the copy, started for real, shows in the kernel.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord, RunOptions } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { configFromRunOptions } from '../agent/oci/from-run-options';
import { copyName, runOptionsOf, tryCopy } from '../extension/webviews/anatomy/copy-options';
import { devicesDenyByDefault, PROTECTIONS, securityRows, type Protection, type SecurityRow } from '../extension/webviews/anatomy/security-rows';
import { hostLinkNames, leftovers, NONE_LEFT, removeBridgeIfCreated } from './helpers/kernel-witness';

const BRIDGE = 'clanasec0';
const SUBNET = '10.77.150.0/24';

let stateRoot: string;
let runtime: ContainerRuntime;
let removeBridge: () => void = () => undefined;
const made: ContainerRecord[] = [];

beforeAll(() => {
  stateRoot = mkdtempSync('/tmp/cl-anatomy-security-');
  removeBridge = removeBridgeIfCreated(BRIDGE);
  runtime = openRuntime({ stateRoot, defaultBridge: { name: BRIDGE, subnet: SUBNET } });
});

afterAll(async () => {
  for (const record of runtime.list()) await runtime.remove(record.id, true).catch(() => undefined);
  runtime.close();
  removeBridge();
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  expect(hostLinkNames()).not.toContain(BRIDGE);
  rmSync(stateRoot, { recursive: true, force: true });
});

async function run(options: RunOptions): Promise<ContainerRecord> {
  const record = await runtime.run(options);
  made.push(record);
  return runtime.inspect(record.id);
}

const status = (pid: number, name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.trim();
const row = (record: ContainerRecord, protection: Protection): SecurityRow => securityRows(record).find((entry) => entry.protection === protection)!;
/** The document a copy's options ask for, under the original's name and root: must be the original's. */
const documentOf = (options: RunOptions, original: ContainerRecord) =>
  configFromRunOptions({ ...options, name: original.name }, { rootfs: original.config.root!.path, bridge: { name: BRIDGE, subnet: SUBNET } });

describe('the rows of a default container', () => {
  let record: ContainerRecord;
  beforeAll(async () => {
    record = await run({ name: 'anasec-default', hostname: 'anasec-default', net: 'none', args: ['sleep', '60'] });
  });

  test('capabilities, seccomp, devices and keyring are on, no_new_privs and pids off (as in Docker) — each value the kernel\'s', () => {
    const rows = securityRows(record);
    expect(rows.map((entry) => entry.protection)).toEqual([...PROTECTIONS]);
    expect(Object.fromEntries(rows.map((entry) => [entry.protection, entry.on]))).toEqual({ capabilities: true, seccomp: true, devices: true, keyring: true, noNewPrivileges: false, pids: false });
    expect(row(record, 'capabilities').value).toBe('14 effective, 14 in the bounding set (Docker\'s default 14)');
    expect(status(record.pid!, 'CapEff')).toBe('00000000a80425fb');
    expect(row(record, 'seccomp').value).toBe('Seccomp: 2 (filter) · the runtime\'s default profile (Docker-like)');
    expect(status(record.pid!, 'Seccomp')).toBe('2');
    expect(row(record, 'devices').details).toEqual(record.cgroup!.devices!.rules);
    expect(row(record, 'devices').value).toMatch(/^12 rules, enforced by /);
    expect(row(record, 'keyring').value).toBe(`_ses.${record.id}: its own`);
    expect(readFileSync('/proc/keys', 'utf8')).toContain(` _ses.${record.id}: `);
    expect(row(record, 'noNewPrivileges').value).toMatch(/^NoNewPrivs: 0 /);
    expect(status(record.pid!, 'NoNewPrivs')).toBe('0');
    expect(row(record, 'pids').value).toBe('max: no limit (as in Docker by default)');
    for (const entry of rows) {
      expect(entry.protects.split(/[.:] [A-Z]/).length, `${entry.protection}: one sentence`).toBe(1);
      expect(entry.action.label).toBe(entry.on ? 'Try without' : 'Try with');
    }
  });

  test('its options read back from config.json ask for the same document', () => {
    expect(documentOf(runOptionsOf(record), record)).toEqual(record.config);
  });

  test('device rules: "deny a" last means on; "allow a" after it, or none, off', () => {
    expect(devicesDenyByDefault(['deny a', 'allow c 1:3 rwm'])).toBe(true);
    expect(devicesDenyByDefault(['deny a', 'allow c 1:3 rwm', 'allow a'])).toBe(false);
    expect(devicesDenyByDefault(null)).toBe(false);
  });

  test('copy names: <name>-<suffix>, at most 63 characters, never one taken', () => {
    expect(copyName('web', 'no-seccomp', [])).toBe('web-no-seccomp');
    expect(copyName('web', 'no-seccomp', ['web-no-seccomp'])).toBe('web-no-seccomp-2');
    expect(copyName('x'.repeat(63), 'no-seccomp', [])).toHaveLength(63);
  });
});

describe('read back: a container with most options set', () => {
  test('bridge network, limits, user, read-only root, capabilities, a custom profile, a device rule, the host keyring, a volume, an init step', async () => {
    const host = mkdtempSync('/tmp/cl-anasec-host-');
    try {
      const record = await run({
        name: 'anasec-full', hostname: 'full-host', memory: '48m', cpus: 0.5, pids: 32, user: '1000:1000', readOnlyRoot: true,
        capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'], seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdirat'], action: 'SCMP_ACT_ERRNO' }] },
        deviceCgroupRules: ['c 10:200 rwm'], noNewKeyring: true, noNewPrivileges: true, volumes: [{ name: 'site', mountPath: '/site', hostPath: host, readOnly: true }],
        init: ['sh', '-c', 'true'], args: ['sleep', '60'],
      });
      expect(record.network.bridge).toBe(BRIDGE);
      const options = runOptionsOf(record);
      expect(options).toMatchObject({ net: 'bridge', bridge: BRIDGE, subnet: SUBNET, hostname: 'full-host', memory: 48 * 1024 * 1024, cpus: 0.5, pids: 32, noNewKeyring: true, deviceCgroupRules: ['c 10:200 rwm'] });
      expect(documentOf(options, record)).toEqual(record.config);
      const rows = Object.fromEntries(securityRows(record).map((entry) => [entry.protection, entry]));
      expect(rows.seccomp!.value).toBe('Seccomp: 2 (filter) · a custom profile');
      expect(rows.keyring!.on).toBe(false);
      expect(rows.noNewPrivileges!.on).toBe(true);
      expect(rows.pids!.value).toMatch(/^pids\.max 32 \(\d+ in use\)$/);
      expect(rows.capabilities!.value).toBe('0 effective, 1 in the bounding set'); // uid 1000 loses its effective set at execve: it has no file capabilities to gain from
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  test('a privileged container: every row but keyring, nnp and pids offers "Try without --privileged"', async () => {
    const record = await run({ name: 'anasec-privileged', net: 'none', args: ['sleep', '60'], privileged: true });
    expect(documentOf(runOptionsOf(record), record)).toEqual(record.config);
    const rows = securityRows(record);
    expect(rows.filter((entry) => entry.action.label === 'Try without --privileged').map((entry) => entry.protection)).toEqual(['capabilities', 'seccomp', 'devices']);
    expect(rows.filter((entry) => !entry.on).map((entry) => entry.protection)).toEqual(['capabilities', 'seccomp', 'devices', 'noNewPrivileges', 'pids']);
    const copy = tryCopy(record, 'seccomp', []);
    expect(copy.options.privileged).toBeUndefined();
    expect(copy.change).toBe('without --privileged');
  });
});

describe('"Try without", started for real: only the one protection differs in the kernel', () => {
  let original: ContainerRecord;
  const names: string[] = [];
  beforeAll(async () => {
    original = await run({ name: 'anasec-orig', net: 'none', pids: 40, args: ['sleep', '60'] });
    names.push(original.name);
  });

  async function copyOf(protection: Protection): Promise<ContainerRecord> {
    const copy = tryCopy(original, protection, names);
    names.push(copy.name);
    const record = await run(copy.options);
    expect(record.name).toBe(copy.name);
    // Everything else is as in the original: its document with this one change.
    return record;
  }
  const statusOf = (record: ContainerRecord, name: string) => status(record.pid!, name);

  test('seccomp: Seccomp 0 instead of 2', async () => {
    const copy = await copyOf('seccomp');
    expect(copy.name).toBe('anasec-orig-no-seccomp');
    expect([statusOf(original, 'Seccomp'), statusOf(copy, 'Seccomp')]).toEqual(['2', '0']);
    expect(statusOf(copy, 'CapEff')).toBe(statusOf(original, 'CapEff'));
    expect(row(copy, 'seccomp').on).toBe(false);
  });

  test('capabilities: CapEff every held one; still under a (default) filter', async () => {
    const copy = await copyOf('capabilities');
    expect(statusOf(copy, 'CapEff')).toBe(status(process.pid, 'CapBnd'));
    expect(statusOf(copy, 'Seccomp')).toBe('2');
  });

  test('devices: "allow a" last; devices.list a *:* rwm on v1', async () => {
    const copy = await copyOf('devices');
    expect(copy.cgroup!.devices!.rules.at(-1)).toBe('allow a');
    if (copy.cgroup!.files.devices) expect(readFileSync(copy.cgroup!.files.devices, 'utf8').trim()).toBe('a *:* rwm');
    expect(row(copy, 'devices').on).toBe(false);
  });

  test('keyring: no _ses.<id> of the copy in /proc/keys', async () => {
    const copy = await copyOf('keyring');
    const keys = readFileSync('/proc/keys', 'utf8');
    expect(keys).toContain(` _ses.${original.id}: `);
    expect(keys).not.toContain(` _ses.${copy.id}: `);
  });

  test('no_new_privs ("Try with"): NoNewPrivs 1 instead of 0', async () => {
    const copy = await copyOf('noNewPrivileges');
    expect(copy.name).toBe('anasec-orig-nnp');
    expect([statusOf(original, 'NoNewPrivs'), statusOf(copy, 'NoNewPrivs')]).toEqual(['0', '1']);
  });

  test('pids: the copy\'s pids.max is max instead of 40', async () => {
    const copy = await copyOf('pids');
    expect(readFileSync(original.cgroup!.files.pids!, 'utf8').trim()).toBe('40');
    expect(readFileSync(copy.cgroup!.files.pids!, 'utf8').trim()).toBe('max');
  });
});

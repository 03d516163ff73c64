/*
 * OCI runtime-spec documents: the spec's own fixtures pass or fail as the spec says; every
 * config.json we build validates and says what the options asked for; a reference runtime
 * (runc) realises our documents; bad options are refused with exactly one line.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { LabError } from '../agent/errors';
import {
  ANNOTATIONS,
  CPU_PERIOD_US,
  DEFAULT_MASKED_PATHS,
  IDLE_PROCESS,
  configFromRunOptions,
  fromOciNamespace,
  limitsFromConfig,
  namespacesFromConfig,
  networkModeFromConfig,
  parseSize,
  toOciNamespace,
} from '../agent/oci/from-run-options';
import { GENERATED_FILE, generateValidatorSource } from '../agent/oci/generate-validators';
import { parseConfig, validateConfig, validateState } from '../agent/oci/validate';
import { ensureBusyboxImage } from '../agent/runtime/image/busybox';
import { DEFAULT_DEVICE_RULES } from '../agent/runtime/cgroups/device-rules';
import { defaultSeccompProfile } from '../agent/oci/default-seccomp';
import type { OciSpec, RunOptions } from '../agent/protocol';
import { NAMESPACE_TYPES } from '../agent/protocol';
import { skipBecause } from './helpers/tools';

/** The spec's own good and bad documents, carried in the repository (see its README). */
const FIXTURES = path.resolve(__dirname, 'fixtures/oci-runtime-spec-1.1.0');

const ROOTFS = '/var/lib/containers-lab/containers/x/merged';

function fixtures(kind: 'config' | 'state', verdict: 'good' | 'bad'): string[] {
  const dir = path.join(FIXTURES, kind, verdict);
  return fs.readdirSync(dir).map((file) => path.join(dir, file));
}

function parseDocument(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function errorOf(run: () => unknown): LabError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    return error as LabError;
  }
  throw new Error('expected a LabError');
}

describe("the spec's own fixtures", () => {
  test.each(fixtures('config', 'good'))('config %s validates', (file) => {
    expect(() => parseConfig(fs.readFileSync(file, 'utf8'))).not.toThrow();
  });
  test.each(fixtures('config', 'bad'))('config %s is rejected with one line', (file) => {
    const error = errorOf(() => parseConfig(fs.readFileSync(file, 'utf8')));
    expect(error.kind).toBe('bad-input');
    expect(error.message).toMatch(/^config\.json: /);
    expect(error.message).not.toContain('\n');
  });
  test.each(fixtures('state', 'good'))('state %s validates', (file) => {
    expect(validateState(parseDocument(file)).status).toBeDefined();
  });
  test('the bad fixtures fail for the reason the spec intends', () => {
    const message = (name: string) => errorOf(() => parseConfig(fs.readFileSync(path.join(FIXTURES, 'config/bad', name), 'utf8'))).message;
    expect(message('invalid-json.json')).toMatch(/^config\.json: not valid JSON \(/);
    expect(message('linux-hugepage.json')).toBe('config.json: /linux/resources/hugepageLimits/0/pageSize must match pattern "^[1-9][0-9]*[KMG]B$"');
    expect(message('linux-rdma.json')).toBe('config.json: /linux/resources/rdma/mlx5_1/hcaHandles must be integer');
  });
});

describe('schema errors are one line naming the first problem', () => {
  const base = (): OciSpec => configFromRunOptions({ name: 'cl-oci' }, { rootfs: ROOTFS });
  test.each([
    ['args not an array', (doc: any) => (doc.process.args = 'sh'), 'config.json: /process/args must be array'],
    ['cwd missing', (doc: any) => delete doc.process.cwd, "config.json: /process must have required property 'cwd'"],
    [
      'unknown namespace type',
      (doc: any) => (doc.linux.namespaces[0].type = 'foo'),
      'config.json: /linux/namespaces/0/type must be one of "mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time"',
    ],
    ['ociVersion missing', (doc: any) => delete doc.ociVersion, "config.json: / must have required property 'ociVersion'"],
    ['negative uid', (doc: any) => (doc.process.user.uid = -1), 'config.json: /process/user/uid must be >= 0'],
  ])('%s', (_, mutate, expected) => {
    const doc = base();
    mutate(doc);
    const error = errorOf(() => validateConfig(doc));
    expect(error.message).toBe(expected);
    expect(error.kind).toBe('bad-input');
  });
  test('a document that is not an object', () => {
    expect(errorOf(() => validateConfig([])).message).toBe('config.json: must be a JSON object');
    expect(errorOf(() => validateState('x')).message).toBe('state.json: must be a JSON object');
  });
});

describe('config.json from run options', () => {
  const optionSets: [string, RunOptions][] = [
    ['defaults', { name: 'web' }],
    ['limits', { name: 'limited', memory: '64m', cpus: 0.5, pids: 64 }],
    ['user namespace', { name: 'mapped', userns: true }],
    ['host network', { name: 'hostnet', net: 'host' }],
    ['chosen namespaces', { name: 'few', namespaces: ['pid', 'mnt', 'net'], net: 'none' }],
    ['bridge options', { name: 'bridged', bridge: 'cl-test0', subnet: '10.123.0.0/24', hostname: 'box.lab', args: ['/bin/true'], env: ['TERM=dumb', 'A=1'] }],
  ];

  test.each(optionSets)('%s: validates against the OCI schema', (_, options) => {
    const spec = configFromRunOptions(options, { rootfs: ROOTFS });
    expect(validateConfig(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
  });

  test('defaults: an idle PID 1, all namespaces but user, bridge network, runc-like masks', () => {
    const spec = configFromRunOptions({ name: 'web' }, { rootfs: ROOTFS });
    expect(spec.ociVersion).toBe('1.1.0');
    expect(spec.process).toMatchObject({ args: IDLE_PROCESS, cwd: '/', user: { uid: 0, gid: 0 }, terminal: false });
    expect(spec.process!.env).toEqual(['PATH=/bin:/sbin:/usr/bin:/usr/sbin', 'HOME=/root', 'TERM=xterm']);
    expect(spec.root).toEqual({ path: ROOTFS, readonly: false });
    expect(spec.hostname).toBe('web');
    expect(spec.linux!.namespaces!.map((ns) => ns.type)).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
    expect(spec.linux!.uidMappings).toBeUndefined();
    expect(spec.linux!.resources).toEqual({ devices: DEFAULT_DEVICE_RULES });
    expect(spec.linux!.maskedPaths).toEqual(DEFAULT_MASKED_PATHS);
    expect(spec.linux!.readonlyPaths).toContain('/proc/sys');
    expect(spec.mounts!.map((mount) => `${mount.destination}:${mount.type}`)).toEqual([
      '/proc:proc',
      '/dev:tmpfs',
      '/dev/pts:devpts',
      '/dev/shm:tmpfs',
      '/dev/mqueue:mqueue',
      '/sys:sysfs',
      '/tmp:tmpfs',
    ]);
    expect(spec.mounts!.find((mount) => mount.destination === '/dev/pts')!.options).toEqual(
      expect.arrayContaining(['newinstance', 'ptmxmode=0666']),
    );
    expect(spec.annotations).toEqual({
      [ANNOTATIONS.image]: 'busybox',
      [ANNOTATIONS.name]: 'web',
      [ANNOTATIONS.network]: 'bridge',
      [ANNOTATIONS.bridge]: 'cl0',
      [ANNOTATIONS.subnet]: '10.77.0.0/24',
      [ANNOTATIONS.seccomp]: 'default',
      [ANNOTATIONS.sessionKeyring]: 'own',
    });
    // Docker's default profile, for these capabilities (test/default-security.test.ts checks what it refuses).
    expect(spec.linux!.seccomp).toBe(defaultSeccompProfile(spec.process!.capabilities!.bounding!));
    expect(namespacesFromConfig(spec)).toEqual(['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts']);
    expect(networkModeFromConfig(spec)).toBe('bridge');
    expect(limitsFromConfig(spec)).toEqual({ memoryBytes: null, cpuQuotaUs: null, cpuPeriodUs: CPU_PERIOD_US, pids: null });
  });

  test('limits: memory in bytes, cpus as quota per 100 ms period, pids', () => {
    const spec = configFromRunOptions({ name: 'limited', memory: '64m', cpus: 0.5, pids: 64 }, { rootfs: ROOTFS });
    expect(spec.linux!.resources).toEqual({ devices: DEFAULT_DEVICE_RULES, memory: { limit: 67108864 }, cpu: { quota: 50000, period: 100000 }, pids: { limit: 64 } });
    expect(limitsFromConfig(spec)).toEqual({ memoryBytes: 67108864, cpuQuotaUs: 50000, cpuPeriodUs: 100000, pids: 64 });
    expect(configFromRunOptions({ memory: 8 * 1024 * 1024 }, { rootfs: ROOTFS }).linux!.resources!.memory!.limit).toBe(8388608);
  });

  test('user namespace: container root maps to an unprivileged host range', () => {
    const spec = configFromRunOptions({ name: 'mapped', userns: true }, { rootfs: ROOTFS });
    expect(spec.linux!.namespaces!.map((ns) => ns.type)).toContain('user');
    expect(spec.linux!.uidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
    expect(spec.linux!.gidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
    const custom = configFromRunOptions({ namespaces: ['user', 'mnt', 'pid'] }, { rootfs: ROOTFS, userns: { hostId: 300000, size: 1000 } });
    expect(custom.linux!.uidMappings).toEqual([{ containerID: 0, hostID: 300000, size: 1000 }]);
    // Sharing the host's network and PID namespaces, the user namespace cannot mount sysfs/proc: bind them.
    expect(custom.mounts!.find((mount) => mount.destination === '/sys')).toMatchObject({ type: 'bind', source: '/sys' });
    expect(custom.mounts!.find((mount) => mount.destination === '/proc')).toMatchObject({ type: 'proc' });
    expect(custom.mounts!.some((mount) => mount.destination === '/dev/mqueue')).toBe(false);
    expect(namespacesFromConfig(custom)).toEqual(['mnt', 'pid', 'user']);
    expect(networkModeFromConfig(custom)).toBe('host');
    expect(custom.hostname).toBeUndefined();
  });

  test('host network: no network namespace', () => {
    const spec = configFromRunOptions({ name: 'hostnet', net: 'host' }, { rootfs: ROOTFS });
    expect(spec.linux!.namespaces!.map((ns) => ns.type)).not.toContain('network');
    expect(networkModeFromConfig(spec)).toBe('host');
    expect(spec.annotations![ANNOTATIONS.bridge]).toBeUndefined();
  });

  test('env, args, hostname and bridge options land where the runtime reads them', () => {
    const spec = configFromRunOptions(
      { name: 'bridged', bridge: 'cl-test0', subnet: '10.123.0.0/24', hostname: 'box.lab', args: ['/bin/true'], env: ['TERM=dumb', 'A=1'] },
      { rootfs: ROOTFS },
    );
    expect(spec.process!.args).toEqual(['/bin/true']);
    expect(spec.process!.env).toEqual(['PATH=/bin:/sbin:/usr/bin:/usr/sbin', 'HOME=/root', 'TERM=dumb', 'A=1']);
    expect(spec.hostname).toBe('box.lab');
    expect(spec.annotations).toMatchObject({ [ANNOTATIONS.bridge]: 'cl-test0', [ANNOTATIONS.subnet]: '10.123.0.0/24' });
  });

  test('--bridge alone joins a bridge the runtime knows with the subnet it serves; an unknown one gets the default subnet', () => {
    const subnetOf = (bridge: string): string | null => (bridge === 'known0' ? '10.123.7.0/24' : null);
    expect(configFromRunOptions({ bridge: 'known0' }, { rootfs: ROOTFS, subnetOf }).annotations).toMatchObject({ [ANNOTATIONS.bridge]: 'known0', [ANNOTATIONS.subnet]: '10.123.7.0/24' });
    expect(configFromRunOptions({ bridge: 'new0' }, { rootfs: ROOTFS, subnetOf }).annotations).toMatchObject({ [ANNOTATIONS.subnet]: '10.77.0.0/24' });
    expect(configFromRunOptions({ bridge: 'known0', subnet: '10.123.8.0/24' }, { rootfs: ROOTFS, subnetOf }).annotations).toMatchObject({ [ANNOTATIONS.subnet]: '10.123.8.0/24' });
  });

  test('a full config passed through is validated, not rebuilt', () => {
    const own = configFromRunOptions({ name: 'own', args: ['echo', 'hi'] }, { rootfs: '/somewhere' });
    expect(configFromRunOptions({ config: own }, { rootfs: ROOTFS })).toEqual(own);
    const broken = { ...own, process: { ...own.process!, args: 'echo' as unknown as string[] } };
    expect(errorOf(() => configFromRunOptions({ config: broken }, { rootfs: ROOTFS })).message).toBe('config.json: /process/args must be array');
  });

  test('namespace names map both ways', () => {
    expect(NAMESPACE_TYPES.map(toOciNamespace)).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']);
    expect(NAMESPACE_TYPES.map((type) => fromOciNamespace(toOciNamespace(type)))).toEqual([...NAMESPACE_TYPES]);
    expect(fromOciNamespace('time')).toBeNull();
  });

  test('parseSize reads Kubernetes quantities and Docker sizes (agent/protocol/quantity.ts)', () => {
    expect(parseSize('64m')).toBe(64 * 1024 ** 2);
    expect(parseSize('1g')).toBe(1024 ** 3);
    expect(parseSize('128Mi')).toBe(128 * 1024 ** 2);
    expect(parseSize('512k')).toBe(512 * 1000);
    expect(parseSize('1.5G')).toBe(1.5 * 1000 ** 3);
    expect(parseSize('1.5Gi')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('64MiB')).toBe(64 * 1024 ** 2);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize(123)).toBe(123);
    expect(parseSize('1e9')).toBe(1e9);
    for (const bad of ['64x', '-1', '', 'm', -5]) {
      expect(errorOf(() => parseSize(bad)).message).toBe(
        `invalid size ${typeof bad === 'string' ? JSON.stringify(bad) : bad}: use bytes, Ki/Mi/Gi (1024-based), k/M/G (1000-based) or Docker's m/g (e.g. 128Mi, 64m)`,
      );
    }
  });
});

describe('bad options: one line naming the problem', () => {
  const hostCpus = os.availableParallelism();
  test.each<[string, RunOptions, string]>([
    ['path in name', { name: '../x' }, `invalid name "../x": use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit`],
    // A message repeats at most 40 characters of what was sent (agent/errors.ts quote).
    ['name too long', { name: 'a'.repeat(64) }, `invalid name "${'a'.repeat(40)}…": use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit`],
    ['hostname with underscore', { hostname: 'bad_host' }, `invalid hostname "bad_host": use up to 63 letters, digits, '-' and '.' (RFC 1123)`],
    ['hostname too long', { hostname: 'h'.repeat(64) }, `invalid hostname "${'h'.repeat(40)}…": use up to 63 letters, digits, '-' and '.' (RFC 1123)`],
    ['unknown namespace', { namespaces: ['pid', 'foo' as never] }, 'unknown namespace "foo": choose from cgroup, ipc, mnt, net, pid, user, uts'],
    ['OCI spelling of a namespace', { namespaces: ['network' as never] }, 'unknown namespace "network": choose from cgroup, ipc, mnt, net, pid, user, uts'],
    ['malformed memory', { memory: '64x' }, `invalid memory "64x": use bytes, Ki/Mi/Gi (1024-based), k/M/G (1000-based) or Docker's m/g (e.g. 128Mi, 64m)`],
    ['negative memory', { memory: '-1' }, `invalid memory "-1": use bytes, Ki/Mi/Gi (1024-based), k/M/G (1000-based) or Docker's m/g (e.g. 128Mi, 64m)`],
    ['ambiguous K', { memory: '512K' }, 'invalid memory "512K": "K" is ambiguous, use k (1000) or Ki (1024)'],
    ['tiny memory', { memory: '1m' }, 'memory limit "1m" is too small: a container needs at least 4m'],
    ['zero cpus', { cpus: 0 }, 'invalid cpus 0: use a number of CPUs above 0 or millicores, e.g. 0.5 or 500m'],
    ['negative cpus', { cpus: -1 }, 'invalid cpus -1: use a number of CPUs above 0 or millicores, e.g. 0.5 or 500m'],
    ['cpus in megacores', { cpus: '500M' }, 'invalid cpus "500M": use a number of CPUs above 0 or millicores, e.g. 0.5 or 500m'],
    ['too many cpus', { cpus: hostCpus + 1 }, `cpus ${hostCpus + 1} exceeds this host's ${hostCpus} CPU${hostCpus === 1 ? '' : 's'}`],
    ['tiny cpus', { cpus: 0.001 }, 'cpus 0.001 is too small: at least 0.01 (10m)'],
    ['tiny millicores', { cpus: '5m' }, 'cpus "5m" is too small: at least 0.01 (10m)'],
    ['zero pids', { pids: 0 }, 'invalid pids limit 0: use a whole number from 1 to 4194304'],
    ['huge pids', { pids: 5000000 }, 'invalid pids limit 5000000: use a whole number from 1 to 4194304'],
    ['fractional pids', { pids: 1.5 }, 'invalid pids limit 1.5: use a whole number from 1 to 4194304'],
    ['unknown image', { image: 'alpine' as never }, 'unknown image "alpine": only busybox is available'],
    ['unknown network', { net: 'nat' as never }, 'unknown network mode "nat": choose from bridge, none, host'],
    ['host network with net namespace', { net: 'host', namespaces: ['net', 'pid'] }, '--net host shares the host network: leave "net" out of the namespace list'],
    ['bridge without net namespace', { net: 'bridge', namespaces: ['pid'] }, 'network mode "bridge" needs a net namespace: add "net" to the namespace list or use --net host'],
    ['bridge options without bridge', { net: 'none', bridge: 'br0' }, '--bridge and --subnet apply to --net bridge, not --net none'],
    ['bad bridge name', { bridge: 'a-very-long-bridge-name' }, `invalid bridge name "a-very-long-bridge-name": use 1-15 letters, digits, '_', '.' or '-'`],
    ['bad subnet', { subnet: '10.0.0.0/33' }, 'invalid subnet "10.0.0.0/33": use an IPv4 CIDR with a prefix from /8 to /30, e.g. 10.88.0.0/16'],
    ['hostname without uts', { hostname: 'h', namespaces: ['pid', 'mnt'] }, 'hostname "h" needs a uts namespace: add "uts" to the namespace list'],
    ['empty command', { args: [] }, 'invalid command: give a program and its arguments, e.g. -- sh -c "echo hi"'],
    ['bad env', { env: ['NOEQUALS'] }, 'invalid env entry "NOEQUALS": use KEY=VALUE'],
  ])('%s', (_, options, expected) => {
    const error = errorOf(() => configFromRunOptions(options, { rootfs: ROOTFS }));
    expect(error.message).toBe(expected);
    expect(error.kind).toBe('bad-input');
  });

  test('memory above the host RAM', () => {
    const error = errorOf(() => configFromRunOptions({ memory: os.totalmem() + 1024 ** 3 }, { rootfs: ROOTFS }));
    expect(error.message).toMatch(/^memory limit \d+ exceeds this host's memory \(\d+(\.\d)?g\)$/);
  });
});

/* A reference runtime as the independent witness: runc realises our documents unchanged
 * (except a read-only root, since it has no overlay and the layer must stay untouched). */
const runcMissing = spawnSync('runc', ['--version']).status !== 0;
test('runc, the witness below, is installed', (context) => {
  if (runcMissing) skipBecause(context, 'runc is not installed (scripts/setup-host.sh installs it): the runc tests below are skipped');
});
describe.skipIf(runcMissing)('runc runs our config.json', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-oci-test-'));
  fs.chmodSync(scratch, 0o755); // container root in a user namespace must reach the rootfs
  const rootfs = ensureBusyboxImage(scratch).path;
  const ids: string[] = [];
  afterAll(() => {
    for (const id of ids) spawnSync('runc', ['delete', '--force', id]);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  function runInRunc(options: RunOptions): { stdout: string; stderr: string; status: number | null } {
    const id = `cl-oci-test-${process.pid}-${ids.length}`;
    ids.push(id);
    const spec = configFromRunOptions(options, { rootfs });
    spec.root!.readonly = true;
    const bundle = path.join(scratch, id);
    fs.mkdirSync(bundle);
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    return spawnSync('runc', ['run', '--bundle', bundle, id], { encoding: 'utf8', timeout: 30_000 });
  }

  const probe = 'hostname; echo pid=$$; readlink /proc/self/ns/net; cat /proc/self/uid_map; test -c /dev/pts/ptmx && echo pts';

  test('defaults with limits: own hostname, PID 1, own network namespace, pts', () => {
    const result = runInRunc({ name: 'cl-oci-runc', args: ['sh', '-c', probe], memory: '64m', cpus: 0.5, pids: 32 });
    expect(result.stderr).toBe('');
    const [hostname, pid, net, uidMap, pts] = result.stdout.trim().split('\n');
    expect(hostname).toBe('cl-oci-runc');
    expect(pid).toBe('pid=1');
    expect(net).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
    expect(uidMap!.trim().split(/\s+/)).toEqual(['0', '0', '4294967295']);
    expect(pts).toBe('pts');
    expect(result.status).toBe(0);
  });

  test('user namespace with the host network: mapped root, host net namespace', () => {
    const result = runInRunc({ name: 'cl-oci-userns', args: ['sh', '-c', probe], userns: true, net: 'host' });
    expect(result.stderr).toBe('');
    const [hostname, pid, net, uidMap] = result.stdout.trim().split('\n');
    expect(hostname).toBe('cl-oci-userns');
    expect(pid).toBe('pid=1');
    expect(net).toBe(fs.readlinkSync('/proc/self/ns/net'));
    expect(uidMap!.trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
    expect(result.status).toBe(0);
  });

  test('the default idle process exits 0 on SIGTERM', async () => {
    const id = `cl-oci-test-${process.pid}-idle`;
    ids.push(id);
    const spec = configFromRunOptions({ name: 'cl-oci-idle' }, { rootfs });
    spec.root!.readonly = true;
    const bundle = path.join(scratch, id);
    fs.mkdirSync(bundle);
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    const child = spawn('runc', ['run', '--bundle', bundle, id], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait until runc reports the container running, then ask it to stop politely.
    for (let tries = 0; tries < 100; tries++) {
      const state = spawnSync('runc', ['state', id], { encoding: 'utf8' });
      if (state.status === 0 && validateState(JSON.parse(state.stdout)).status === 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(spawnSync('runc', ['kill', id, 'TERM']).status).toBe(0);
    expect(await exited).toBe(0);
  });
});

test('the precompiled validators are up to date with agent/oci/schema/*.json', () => {
  // If this fails: WRITE_VALIDATORS=1 npx vite-node agent/oci/generate-validators.ts
  expect(fs.readFileSync(GENERATED_FILE, 'utf8') === generateValidatorSource()).toBe(true);
});

/*
 * config.json ↔ Pod YAML on real containers: the Pod configToPod writes for a running container
 * says what the container is (limits, hostname, host namespaces, user namespace), its field →
 * kernel-object map names the very files and inodes the kernel shows (/proc/<pid>/ns/*, the cgroup's
 * limit files), and podToRunOptions reads that Pod back into options that make the same config.json.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { ANNOTATIONS, configFromRunOptions } from '../agent/oci/from-run-options';
import type { ContainerRecord, NamespaceType } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { documentFields } from '../extension/webviews/manifests/document-fields';
import { parentPath, pathAndAncestors } from '../extension/webviews/manifests/field-paths';
import type { KernelObject } from '../extension/webviews/manifests/kernel-objects';
import { configToPod, LAB_ANNOTATIONS, podToRunOptions, type FieldLink, type PodManifest } from '../extension/webviews/manifests/pod-yaml';
import { execCollect } from './helpers/exec';
import { hostLinkNames, leftovers, NONE_LEFT, nsInode, removeBridgeIfCreated } from './helpers/kernel-witness';
import { deviceProgramsOf } from '../agent/runtime/cgroups/device-filter';

// The pod's sandbox takes the runtime's default network: this file's own, not the shared cl0.
const BRIDGE = 'clpyaml0';
const SUBNET = '10.77.127.0/24';

let stateRoot: string;
let runtime: ContainerRuntime;
let removeBridge: () => void = () => undefined;
const made: ContainerRecord[] = [];

async function run(options: Parameters<ContainerRuntime['run']>[0]): Promise<ContainerRecord> {
  const record = await runtime.run(options);
  made.push(record);
  return runtime.inspect(record.id);
}

beforeAll(() => {
  stateRoot = mkdtempSync('/tmp/cl-pod-yaml-test-');
  removeBridge = removeBridgeIfCreated(BRIDGE);
  runtime = openRuntime({ stateRoot, defaultBridge: { name: BRIDGE, subnet: SUBNET } });
});

afterAll(async () => {
  for (const record of made) await runtime.remove(record.id, true).catch(() => undefined);
  runtime.close();
  removeBridge();
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  expect(hostLinkNames()).not.toContain(BRIDGE);
  rmSync(stateRoot, { recursive: true, force: true });
});

function link(links: FieldLink[], id: string): FieldLink {
  const found = links.find((entry) => entry.id === id);
  expect(found, `no link "${id}" (have: ${links.map((entry) => entry.id).join(', ')})`).toBeDefined();
  return found!;
}

function kernelOf<K extends KernelObject['kind']>(links: FieldLink[], id: string, kind: K): Extract<KernelObject, { kind: K }> {
  const kernel = link(links, id).kernel;
  expect(kernel?.kind, `kernel object of ${id}`).toBe(kind);
  return kernel as Extract<KernelObject, { kind: K }>;
}

/** Every link names at least one field that really is in each document it has paths for. */
function expectLinksInDocuments(links: FieldLink[], configText: string, podText: string): void {
  const configPaths = new Set(documentFields(configText).map((field) => field.path));
  const podPaths = new Set(documentFields(podText).map((field) => field.path));
  for (const entry of links) {
    if (entry.jsonPaths.length > 0) expect(entry.jsonPaths.some((path) => configPaths.has(path)), `${entry.id}: none of ${entry.jsonPaths.join(', ')} in config.json`).toBe(true);
    if (entry.podPaths.length > 0) expect(entry.podPaths.some((path) => podPaths.has(path)), `${entry.id}: none of ${entry.podPaths.join(', ')} in the Pod`).toBe(true);
  }
}

function expectNamespace(links: FieldLink[], pid: number, type: NamespaceType, shared: boolean): void {
  const kernel = kernelOf(links, `namespace:${type}`, 'namespace');
  expect(kernel.file).toBe(`/proc/${pid}/ns/${type}`);
  // the inode the map shows is the inode of the file it names, as the kernel reports it now
  expect(kernel.inode, `${type} inode`).toBe(statSync(kernel.file).ino);
  expect(kernel.inode).toBe(nsInode(pid, type));
  expect(kernel.sharedWithHost, `${type} shared with host`).toBe(shared);
  expect(nsInode(pid, type) === nsInode('self', type), `${type}: the kernel's own answer to "shared?"`).toBe(shared);
}

describe('configToPod on a container with limits and a hostname (--net none)', () => {
  let record: ContainerRecord;
  let pod: PodManifest;
  let links: FieldLink[];
  let yaml: string;
  beforeAll(async () => {
    record = await run({ name: 'podyaml-limits', hostname: 'kube-like', memory: '64m', cpus: 0.5, pids: 40, net: 'none' });
    ({ pod, links, yaml } = configToPod(record.config, record));
  });

  test('the Pod YAML asks for the same container', () => {
    expect(parse(yaml)).toEqual(pod);
    expect(pod.metadata.name).toBe('podyaml-limits');
    expect(pod.metadata.annotations).toEqual({ [LAB_ANNOTATIONS.network]: 'none' });
    expect(pod.spec).toMatchObject({ hostname: 'kube-like', hostNetwork: false, hostPID: false, hostIPC: false, hostUsers: true, restartPolicy: 'Never' });
    const container = pod.spec.containers[0];
    expect(container.image).toBe('busybox');
    expect([...(container.command ?? []), ...(container.args ?? [])]).toEqual(record.config.process!.args);
    expect(container.resources).toEqual({ limits: { memory: '64Mi', cpu: '500m' } });
    expect(container.env).toContainEqual({ name: 'PATH', value: '/bin:/sbin:/usr/bin:/usr/sbin' });
    expect(container.securityContext).toEqual({ runAsUser: 0, runAsGroup: 0, readOnlyRootFilesystem: false, seccompProfile: { type: 'RuntimeDefault' } });
    // /tmp is the container's one tmpfs that is not a runtime default: an emptyDir in memory
    expect(pod.spec.volumes).toEqual([{ name: 'tmp', emptyDir: { medium: 'Memory' } }]);
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
  });

  test('memory, cpu and pids limits map to the cgroup files, whose contents the kernel shows', () => {
    const cgroup = record.cgroup!;
    const memory = kernelOf(links, 'memory', 'cgroup');
    expect(memory.file).toBe(cgroup.files.memory);
    expect(readFileSync(memory.file!, 'utf8').trim()).toBe(memory.value);
    expect(memory.value).toBe(String(64 * 1024 * 1024));
    expect(link(links, 'memory').jsonPaths).toContain('linux.resources.memory.limit');
    expect(link(links, 'memory').podPaths).toEqual(['spec.containers[0].resources.limits.memory']);

    const cpu = kernelOf(links, 'cpu', 'cgroup');
    expect(readFileSync(cpu.file!, 'utf8').trim()).toBe(cpu.value);
    expect(cpu.value).toBe(cgroup.version === 2 ? '50000 100000' : '50000');

    const pids = kernelOf(links, 'pids', 'cgroup');
    expect(readFileSync(pids.file!, 'utf8').trim()).toBe('40');
    expect(pids.value).toBe('40');
    expect(link(links, 'pids').podPaths).toEqual([]); // Kubernetes has no per-Pod pids field
  });

  test('hostname maps to the uts namespace, and the value is what `hostname` says inside', async () => {
    const uts = kernelOf(links, 'hostname', 'uts');
    expect(link(links, 'hostname').podPaths).toEqual(['spec.hostname']);
    expect(uts.value).toBe('kube-like');
    expect((await execCollect(runtime, record.id, ['hostname'])).stdout.trim()).toBe(uts.value);
    expect(uts.inode).toBe(nsInode(record.pid!, 'uts'));
  });

  test('each namespace field maps to /proc/<pid>/ns/<type> with the kernel\'s inode', () => {
    for (const type of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'] as NamespaceType[]) expectNamespace(links, record.pid!, type, false);
    expectNamespace(links, record.pid!, 'user', true);
    expect(link(links, 'namespace:pid').jsonPaths[0]).toBe('linux.namespaces[type=pid]');
    expect(link(links, 'namespace:pid').podPaths).toEqual(['spec.hostPID']);
    expect(link(links, 'namespace:net').jsonPaths[0]).toBe('linux.namespaces[type=network]');
  });

  test('the root mount and the command are read from the kernel', () => {
    const root = kernelOf(links, 'image', 'mount');
    const mountinfo = readFileSync(`/proc/${record.pid}/mountinfo`, 'utf8');
    expect(root.value).toMatch(/ on \/ type overlay /);
    expect(mountinfo).toContain(record.rootfs!.upper);
    expect(root.value).toContain(record.rootfs!.upper);
    const command = kernelOf(links, 'command', 'process');
    expect(command.value).toBe(readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' '));
  });

  test('every link points at fields that exist in both documents as the page shows them', () => {
    expectLinksInDocuments(links, `${JSON.stringify(record.config, null, 2)}\n`, yaml);
  });

  test('podToRunOptions reads the Pod back into options that make the same config.json', () => {
    const { options, effects } = podToRunOptions(yaml);
    expect(options).toMatchObject({ name: 'podyaml-limits', hostname: 'kube-like', memory: 64 * 1024 * 1024, cpus: 0.5, net: 'none' });
    expect(effects.map((effect) => effect.podPath)).toContain('spec.containers[0].resources.limits.memory');
    const rebuilt = configFromRunOptions({ ...options, pids: 40 }, { rootfs: record.config.root!.path });
    expect(rebuilt).toEqual(record.config);
  });
});

describe('configToPod on a container in the host\'s pid and network namespaces', () => {
  test('hostPID and hostNetwork are true, and their kernel objects are the host\'s namespaces', async () => {
    const record = await run({ name: 'podyaml-host', namespaces: ['cgroup', 'ipc', 'mnt', 'uts'], net: 'host', args: ['sleep', '60'] });
    const { pod, links, yaml } = configToPod(record.config, record);
    expect(pod.spec).toMatchObject({ hostPID: true, hostNetwork: true, hostIPC: false, hostUsers: true });
    expect(pod.spec.containers[0].command).toEqual(['sleep']);
    expect(pod.spec.containers[0].args).toEqual(['60']);
    expect(pod.spec.containers[0].resources).toBeUndefined();
    expectNamespace(links, record.pid!, 'pid', true);
    expectNamespace(links, record.pid!, 'net', true);
    expectNamespace(links, record.pid!, 'ipc', false);
    // no pid entry in linux.namespaces: the field is the list that lacks it
    expect(link(links, 'namespace:pid').jsonPaths[0]).toBe('linux.namespaces');
    expectLinksInDocuments(links, `${JSON.stringify(record.config, null, 2)}\n`, yaml);

    const { options } = podToRunOptions(yaml);
    expect(options).toMatchObject({ net: 'host', namespaces: ['cgroup', 'ipc', 'mnt', 'uts'], args: ['sleep', '60'] });
    expect(configFromRunOptions(options, { rootfs: record.config.root!.path })).toEqual(record.config);
  });
});

describe('configToPod on a container with a user namespace', () => {
  test('hostUsers is false; the user namespace link carries the uid mapping the kernel holds', async () => {
    const record = await run({ name: 'podyaml-userns', userns: true, net: 'none' });
    const { pod, links, yaml } = configToPod(record.config, record);
    expect(pod.spec.hostUsers).toBe(false);
    expectNamespace(links, record.pid!, 'user', false);
    const [inside, outside, size] = readFileSync(`/proc/${record.pid}/uid_map`, 'utf8').trim().split(/\s+/);
    expect(kernelOf(links, 'namespace:user', 'namespace').detail).toBe(`uid_map: container ${inside} → host ${outside} (${size} ids)`);
    expect(link(links, 'namespace:user').jsonPaths).toEqual(['linux.namespaces[type=user]', 'linux.uidMappings', 'linux.gidMappings']);
    const { options } = podToRunOptions(yaml);
    expect(options.userns).toBe(true);
    expect(configFromRunOptions(options, { rootfs: record.config.root!.path })).toEqual(record.config);
  });
});

describe('configToPod on a container with a securityContext (user, read-only root, no new privileges)', () => {
  test('runAsUser/runAsGroup, readOnlyRootFilesystem and allowPrivilegeEscalation map to what /proc/<pid>/status and mountinfo show', async () => {
    const record = await run({ name: 'podyaml-secure', user: '1000:1000', readOnlyRoot: true, noNewPrivileges: true, net: 'none' });
    const { pod, links, yaml } = configToPod(record.config, record);
    expect(pod.spec.containers[0].securityContext).toEqual({ runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, seccompProfile: { type: 'RuntimeDefault' } });
    const status = readFileSync(`/proc/${record.pid}/status`, 'utf8');
    const field = (name: string) => status.match(new RegExp(`^${name}:\\s*(\\S+)`, 'm'))![1];
    expect(field('Uid')).toBe('1000');
    expect(kernelOf(links, 'user', 'process').value).toBe(`Uid: ${field('Uid')}  Gid: ${field('Gid')}`);
    expect(kernelOf(links, 'no-new-privileges', 'process').value).toBe(`NoNewPrivs: ${field('NoNewPrivs')}`);
    expect(field('NoNewPrivs')).toBe('1');
    // the root mount the kernel lists for the container is read-only
    expect(kernelOf(links, 'readonly-root', 'mount').value).toMatch(/ on \/ type overlay \((ro|.*,ro)[,)]/);
    expectLinksInDocuments(links, `${JSON.stringify(record.config, null, 2)}\n`, yaml);
    const { options } = podToRunOptions(yaml);
    expect(options).toMatchObject({ user: '1000:1000', readOnlyRoot: true, noNewPrivileges: true });
    expect(configFromRunOptions(options, { rootfs: record.config.root!.path })).toEqual(record.config);
  });
});

describe('configToPod on a pod member with capabilities, seccomp and volumes', () => {
  test('capabilities become add/drop against the default set, seccomp a profile, the pod\'s emptyDir and a hostPath volumes — and read back', async () => {
    const host = mkdtempSync('/tmp/cl-pod-yaml-hostpath-');
    try {
      const seccomp = { defaultAction: 'SCMP_ACT_ALLOW' as const, syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' as const }] };
      const record = await run({
        name: 'podyaml-member', pod: 'podyaml', args: ['sleep', '60'], capDrop: ['ALL'], capAdd: ['KILL', 'NET_BIND_SERVICE'], seccomp,
        volumes: [{ name: 'shared', mountPath: '/shared' }, { name: 'site', mountPath: '/site', hostPath: host, readOnly: true }],
      });
      made.push(runtime.inspect('podyaml-pause'));
      const { pod, links, yaml } = configToPod(record.config, record);
      const context = pod.spec.containers[0].securityContext;
      expect(context.capabilities).toEqual({ add: ['KILL', 'NET_BIND_SERVICE'], drop: ['ALL'] });
      expect(context.seccompProfile).toEqual({ type: 'Localhost', localhostProfile: 'podyaml-member-seccomp.json' });
      expect(pod.spec.volumes).toEqual(expect.arrayContaining([{ name: 'shared', emptyDir: {} }, { name: 'site', hostPath: { path: host } }]));
      expect(pod.spec.containers[0].volumeMounts).toEqual(expect.arrayContaining([{ name: 'shared', mountPath: '/shared' }, { name: 'site', mountPath: '/site', readOnly: true }]));
      const status = readFileSync(`/proc/${record.pid}/status`, 'utf8');
      expect(status).toMatch(/^CapBnd:\s*0000000000000420$/m); // KILL (5) and NET_BIND_SERVICE (10)
      expect(kernelOf(links, 'capabilities', 'process').value).toBe('CapBnd: CAP_KILL CAP_NET_BIND_SERVICE  CapEff: CAP_KILL CAP_NET_BIND_SERVICE');
      expect(/^Seccomp:\s*2$/m.test(status)).toBe(true);
      expect(kernelOf(links, 'seccomp', 'process').value).toBe('Seccomp: 2 (filter)  profile: a custom profile');
      expect(kernelOf(links, 'mount:/shared', 'mount').value).toContain(' on /shared ');
      expectLinksInDocuments(links, `${JSON.stringify(record.config, null, 2)}\n`, yaml);
      const { options } = podToRunOptions(yaml.replace(/\n\s+seccompProfile:[\s\S]*?localhostProfile: \S+/, ''));
      expect(options).toMatchObject({ capAdd: ['KILL', 'NET_BIND_SERVICE'], capDrop: ['ALL'] });
      expect(options.volumes).toEqual(expect.arrayContaining([{ name: 'shared', mountPath: '/shared' }, { name: 'site', mountPath: '/site', readOnly: true, hostPath: host }]));
      await runtime.remove(record.id, true);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });
});

describe('configToPod on the protections Kubernetes leaves to the runtime, and on --privileged', () => {
  const devicesList = (record: ContainerRecord): string[] => readFileSync(record.cgroup!.files.devices!, 'utf8').trim().split('\n');

  test('a default container: RuntimeDefault, its device rules (devices.list and the eBPF program) and its own session keyring', async () => {
    const record = await run({ name: 'podyaml-defaults', net: 'none', args: ['sleep', '60'] });
    const { pod, links, yaml } = configToPod(record.config, record);
    expect(pod.spec.containers[0].securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(pod.spec.containers[0].securityContext.privileged).toBeUndefined();
    expect(kernelOf(links, 'seccomp', 'process').value).toBe("Seccomp: 2 (filter)  profile: the runtime's default (Docker-like)");
    expect(link(links, 'seccomp').jsonPaths).toEqual(['linux.seccomp', `annotations["${ANNOTATIONS.seccomp}"]`]);
    const devices = kernelOf(links, 'devices', 'devices');
    expect(link(links, 'devices').podPaths).toEqual([]);
    expect(devices.rules[0]).toBe('deny a');
    if (devices.listFile) expect(devices.list).toEqual(devicesList(record));
    if (devices.programDirectory) {
      expect(devices.programs).toEqual(deviceProgramsOf(devices.programDirectory));
      expect(devices.programs).toHaveLength(1);
    }
    expect(devices.listFile ?? devices.programDirectory).not.toBeNull();
    const keyring = kernelOf(links, 'session-keyring', 'keyring');
    expect(keyring).toEqual({ kind: 'keyring', file: '/proc/keys', name: `_ses.${record.id}`, own: true });
    expect(readFileSync('/proc/keys', 'utf8')).toContain(` _ses.${record.id}: `);
    expect(link(links, 'session-keyring').jsonPaths).toEqual([`annotations["${ANNOTATIONS.sessionKeyring}"]`]);
    expectLinksInDocuments(links, `${JSON.stringify(record.config, null, 2)}\n`, yaml);
  });

  test('--privileged is privileged: true (no seccompProfile, no capabilities); --no-new-keyring shows no keyring of its own; both read back', async () => {
    const record = await run({ name: 'podyaml-privileged', net: 'none', args: ['sleep', '60'], privileged: true, noNewKeyring: true });
    const { pod, links, yaml } = configToPod(record.config, record);
    expect(pod.spec.containers[0].securityContext).toEqual({ runAsUser: 0, runAsGroup: 0, readOnlyRootFilesystem: false, privileged: true });
    expect(yaml).toMatch(/^ {8}privileged: true$/m);
    const status = readFileSync(`/proc/${record.pid}/status`, 'utf8');
    expect(status).toMatch(/^Seccomp:\s*0$/m);
    expect(kernelOf(links, 'privileged', 'process').value).toMatch(/^Seccomp: 0 \(none\) {2}NoNewPrivs: 0 {2}CapEff: \d+ capabilities$/);
    expect(link(links, 'privileged').podPaths).toEqual(['spec.containers[0].securityContext.privileged']);
    expect(link(links, 'seccomp').podPaths).toEqual(['spec.containers[0].securityContext.privileged']);
    expect(kernelOf(links, 'seccomp', 'process').value).toBe('Seccomp: 0 (none)  profile: unconfined (none)');
    const devices = kernelOf(links, 'devices', 'devices');
    expect(devices.rules).toEqual(['allow a']);
    if (devices.listFile) expect(devices.list).toEqual(['a *:* rwm']);
    expect(kernelOf(links, 'session-keyring', 'keyring').own).toBe(false);
    expect(readFileSync('/proc/keys', 'utf8')).not.toContain(` _ses.${record.id}: `);
    expectLinksInDocuments(links, `${JSON.stringify(record.config, null, 2)}\n`, yaml);
    const { options, effects } = podToRunOptions(yaml);
    expect(options).toMatchObject({ privileged: true });
    expect(effects.map((effect) => effect.option)).toContain('privileged');
    // The keyring has no Pod field: read back, the container gets its own again.
    expect(configFromRunOptions({ ...options, noNewKeyring: true }, { rootfs: record.config.root!.path })).toEqual(record.config);
  });

  test('--device-cgroup-rule: the devices link names the rule annotation too, and the kernel list has the rule', async () => {
    const record = await run({ name: 'podyaml-tun', net: 'none', args: ['sleep', '60'], deviceCgroupRules: ['c 10:200 rwm'] });
    const { links, yaml } = configToPod(record.config, record);
    expect(link(links, 'devices').jsonPaths).toEqual(['linux.resources.devices', `annotations["${ANNOTATIONS.deviceCgroupRules}"]`]);
    const devices = kernelOf(links, 'devices', 'devices');
    expect(devices.rules.at(-1)).toBe('allow c 10:200 rwm');
    if (devices.listFile) expect(devicesList(record)).toContain('c 10:200 rwm');
    expectLinksInDocuments(links, `${JSON.stringify(record.config, null, 2)}\n`, yaml);
  });
});

describe('podToRunOptions refuses what the lab cannot do, in one line', () => {
  const base = (): PodManifest => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'refused' },
    spec: { hostNetwork: false, hostPID: false, hostIPC: false, hostUsers: true, restartPolicy: 'Never', containers: [{ name: 'refused', image: 'busybox', securityContext: { runAsUser: 0, runAsGroup: 0, readOnlyRootFilesystem: false } }] },
  });
  const cases: [string, (pod: PodManifest & Record<string, unknown>) => unknown, RegExp][] = [
    ['requests', (pod) => ((pod.spec.containers[0] as unknown as Record<string, unknown>).resources = { requests: { cpu: '1' } }), /^spec\.containers\[0\]\.resources\.requests: not supported/],
    ['another image', (pod) => (pod.spec.containers[0].image = 'nginx'), /^spec\.containers\[0\]\.image: only busybox is available, got "nginx"$/],
    ['two containers', (pod) => ((pod.spec as unknown as { containers: unknown[] }).containers.push({ name: 'b', image: 'busybox' })), /^spec\.containers: exactly one container is supported, got 2$/],
    ['a user that is not a number', (pod) => ((pod.spec.containers[0].securityContext as unknown as Record<string, unknown>).runAsUser = 'root'), /^spec\.containers\[0\]\.securityContext\.runAsUser: expected a whole number from 0 to 65535, got "root"$/],
    ['an unknown field', (pod) => ((pod.spec as unknown as Record<string, unknown>).nodeName = 'n1'), /^spec\.nodeName: not supported here \(supported: containers, /],
    ['a bad memory quantity', (pod) => (pod.spec.containers[0].resources = { limits: { memory: '64 megs' } }), /^spec\.containers\[0\]\.resources\.limits\.memory: invalid memory quantity "64 megs"/],
    ['a Deployment', (pod) => ((pod as unknown as Record<string, unknown>).kind = 'Deployment'), /^kind: only "Pod" is supported, got "Deployment"$/],
    ['an nfs volume', (pod) => ((pod.spec as unknown as Record<string, unknown>).volumes = [{ name: 'h', nfs: { server: 'x', path: '/' } }]), /^spec\.volumes\[0\]\.nfs: not supported/],
    ['privileged that is not a boolean', (pod) => ((pod.spec.containers[0].securityContext as unknown as Record<string, unknown>).privileged = 'yes'), /securityContext\.privileged: expected true or false, got "yes"$/],
    ['an unknown capability', (pod) => ((pod.spec.containers[0].securityContext as unknown as Record<string, unknown>).capabilities = { add: ['WIZARDRY'] }), /capabilities\.add: unknown capability "WIZARDRY"/],
  ];
  test.each(cases)('%s', (_name, change, message) => {
    const pod = base() as PodManifest & Record<string, unknown>;
    change(pod);
    let error: unknown;
    try {
      podToRunOptions(JSON.stringify(pod));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  test('the valid base Pod is accepted (so each refusal above is about its one change)', () => {
    expect(podToRunOptions(JSON.stringify(base())).options).toEqual({ name: 'refused', image: 'busybox' });
  });

  test('text that is not YAML is refused in one line', () => {
    expect(() => podToRunOptions('spec: [unclosed')).toThrow(/^not valid YAML: /);
  });
});

describe('field paths', () => {
  test('the lab annotation keys are the agent\'s', () => {
    expect(LAB_ANNOTATIONS).toBe(ANNOTATIONS);
  });

  test('parents of item, quoted-key and dotted paths', () => {
    expect(parentPath('linux.namespaces[type=pid].type')).toBe('linux.namespaces[type=pid]');
    expect(parentPath('linux.namespaces[type=pid]')).toBe('linux.namespaces');
    expect(parentPath('annotations["lab.containers.name"]')).toBe('annotations');
    expect(parentPath('mounts[destination=/dev/pts]')).toBe('mounts');
    expect(pathAndAncestors('spec.containers[0].resources.limits.memory')).toEqual([
      'spec.containers[0].resources.limits.memory',
      'spec.containers[0].resources.limits',
      'spec.containers[0].resources',
      'spec.containers[0]',
      'spec.containers',
      'spec',
    ]);
  });
});

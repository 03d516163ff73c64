/*
 * The extension's pure rules (no 'vscode'): the process tree, tree-item labels, the network
 * model's joins and its reaction to link events, the busybox options and their validation, the
 * "auto" target order, the Lab view's rows and the terminal text helpers. The same functions run
 * on real kernel data in extension-views-real.test.ts.
 */
import { describe, expect, test } from 'vitest';
import type { AgentInfo, LinkRecord, ProcessRecord } from '../agent/protocol';
import {
  DEFAULT_NAMESPACES,
  defaultBusyboxOptions,
  guidedRunOptions,
  networkChoices,
  nextBusyboxName,
  validateContainerName,
  validateCpus,
  validateMemory,
  validatePids,
} from '../extension/commands/busybox-options';
import { chooseTargetKind, findOnPath } from '../extension/target/auto-target';
import { Base64TextDecoder, encodeInput, shellEnvironment, withCarriageReturns } from '../extension/terminal/terminal-text';
import {
  buildProcessTree,
  cgroupRows,
  containerDescription,
  formatBytes,
  formatCpuTime,
  namespaceRows,
  networkRows,
  processDescription,
  sortSummaries,
} from '../extension/views/containers/model';
import { detailBesidesTarget, infoIsStale, labRows } from '../extension/views/lab/model';
import { applyLinkEvent, buildNetworkModel, needsSnapshot, peerDescription } from '../extension/views/networks/model';

const proc = (pid: number, ppid: number, nspid: number, command = 'sh'): ProcessRecord => ({ pid, ppid, nspid, command, state: 'S' });
const shape = (nodes: ReturnType<typeof buildProcessTree>): unknown => nodes.map((node) => [node.process.pid, shape(node.children)]);

describe('process tree', () => {
  test('nests by parent PID; the process whose parent is outside is the root; children sorted by PID', () => {
    const tree = buildProcessTree([proc(120, 100, 3, 'sleep'), proc(100, 7, 1), proc(110, 100, 2, 'sleep'), proc(130, 110, 4, 'cat')]);
    expect(shape(tree)).toEqual([[100, [[110, [[130, []]]], [120, []]]]]);
  });

  test('a cycle in a corrupt record does not loop or lose processes', () => {
    const tree = buildProcessTree([proc(1, 2, 1), proc(2, 1, 2)]);
    const count = (nodes: ReturnType<typeof buildProcessTree>): number => nodes.reduce((sum, node) => sum + 1 + count(node.children), 0);
    expect(count(tree)).toBe(2);
  });

  test('empty in, empty out; description shows both PIDs only when they differ', () => {
    expect(buildProcessTree([])).toEqual([]);
    expect(processDescription(proc(4242, 1, 1))).toBe('PID 1 (host 4242) · S');
    expect(processDescription(proc(4242, 1, 4242))).toBe('PID 4242 · S');
  });
});

describe('container labels', () => {
  test('description: status and IP; exit code once stopped', () => {
    expect(containerDescription({ status: 'running', ip: '10.77.0.2', exitCode: null })).toBe('running · 10.77.0.2');
    expect(containerDescription({ status: 'stopped', ip: '10.77.0.2', exitCode: 137 })).toBe('stopped (exit 137)');
    expect(containerDescription({ status: 'created', ip: null, exitCode: null })).toBe('created');
  });

  test('containers are listed oldest first', () => {
    const base = { id: 'x', status: 'running' as const, pid: 1, ip: null, image: 'busybox', command: 'sh', exitCode: null };
    const sorted = sortSummaries([
      { ...base, name: 'b', createdAt: '2025-01-02T00:00:00Z' },
      { ...base, name: 'a', createdAt: '2025-01-03T00:00:00Z' },
      { ...base, name: 'c', createdAt: '2025-01-01T00:00:00Z' },
    ]);
    expect(sorted.map((summary) => summary.name)).toEqual(['c', 'b', 'a']);
  });

  test('namespace rows: all seven types in order, "type: inode", shared ones marked', () => {
    const rows = namespaceRows({ namespaces: { net: 4026532290, user: 4026531837, pid: 4026532300 }, sharedWithHost: ['user'] });
    expect(rows.map((row) => row.type)).toEqual(['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts']);
    expect(rows.find((row) => row.type === 'net')).toMatchObject({ label: 'net: 4026532290', description: 'own', shared: false });
    expect(rows.find((row) => row.type === 'user')).toMatchObject({ label: 'user: 4026531837 shared with host', description: '', shared: true });
    expect(rows.find((row) => row.type === 'uts')).toMatchObject({ label: 'uts: –', inode: null, description: 'not running' });
  });

  test('sizes and CPU time read like a person would say them', () => {
    expect(formatBytes(64 * 1024 * 1024)).toBe('64 MiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatCpuTime(12_000_000)).toBe('12 ms');
    expect(formatCpuTime(1_234_567_890)).toBe('1.23 s');
  });

  test('cgroup rows: usage next to limit, unlimited spelled out, none when not running', () => {
    const rows = cgroupRows({
      version: 2,
      path: '/containers-lab/web',
      directories: { unified: '/sys/fs/cgroup/containers-lab/web' },
      files: { memory: '/sys/fs/cgroup/containers-lab/web/memory.max' },
      limits: { memoryBytes: 64 * 1024 * 1024, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pids: null },
      usage: { memoryCurrentBytes: 3 * 1024 * 1024, memoryPeakBytes: 4 * 1024 * 1024, cpuUsageNs: 5_000_000, pidsCurrent: 2, oomKills: 1, frozen: false },
    });
    expect(rows.map((row) => row.label)).toEqual(['memory: 3 MiB / 64 MiB', 'cpu: 0.5 CPU (50000/100000 µs)', 'pids: 2 / unlimited', 'cgroup v2: /containers-lab/web']);
    expect(rows[0]!.description).toBe('peak 4 MiB · 1 OOM kill(s)');
    expect(cgroupRows(null).map((row) => row.label)).toEqual(['no cgroup']);
  });

  test('network rows for bridge, none and host modes', () => {
    const bridge = networkRows({ mode: 'bridge', ifname: 'eth0', ip: '10.77.0.2', prefixLength: 24, gateway: '10.77.0.1', mac: '02:00:00:00:00:01', vethHost: 'vethab12', bridge: 'cl0' });
    expect(bridge.map((row) => row.label)).toEqual(['eth0: 10.77.0.2/24', 'gateway: 10.77.0.1', 'veth peer: vethab12', 'bridge: cl0']);
    const none = { ifname: null, ip: null, prefixLength: null, gateway: null, mac: null, vethHost: null, bridge: null };
    expect(networkRows({ mode: 'none', ...none })[0]!.label).toBe('no network');
    expect(networkRows({ mode: 'host', ...none })[0]!.label).toBe('host network');
  });
});

describe('network model', () => {
  const HOST = 4026531840;
  const C1 = 4026532500;
  const link = (partial: Partial<LinkRecord> & Pick<LinkRecord, 'ifindex' | 'name' | 'kind' | 'netns'>): LinkRecord => ({
    mac: null, mtu: 1500, up: true, addresses: [], master: null, peer: null, ...partial,
  });
  const links: LinkRecord[] = [
    link({ ifindex: 1, name: 'lo', kind: 'loopback', netns: HOST }),
    link({ ifindex: 5, name: 'cl0', kind: 'bridge', netns: HOST, addresses: ['10.77.0.1/24'] }),
    link({ ifindex: 7, name: 'vethc1', kind: 'veth', netns: HOST, master: 'cl0', peer: { ifindex: 2, netns: C1, name: 'eth0' } }),
    // The container's eth0: ifindex 2 also exists in the host namespace (another device) — only the namespace tells them apart.
    link({ ifindex: 2, name: 'eth0', kind: 'veth', netns: C1, addresses: ['10.77.0.2/24'], peer: { ifindex: 7, netns: HOST }, container: 'web' }),
    link({ ifindex: 2, name: 'enp1s0', kind: 'device', netns: HOST, addresses: ['192.168.1.5/24'] }),
  ];

  test('bridge → veth port → the container end, joined by namespace and ifindex', () => {
    const model = buildNetworkModel(links);
    expect(model).toHaveLength(1);
    expect(model[0]).toMatchObject({ name: 'cl0', addresses: ['10.77.0.1/24'] });
    expect(model[0]!.ports).toHaveLength(1);
    expect(model[0]!.ports[0]).toMatchObject({ name: 'vethc1', peer: { name: 'eth0', addresses: ['10.77.0.2/24'], container: 'web', netns: C1 } });
    expect(peerDescription(model[0]!.ports[0]!.peer!)).toBe('10.77.0.2/24 · container web');
  });

  test('a peer whose namespace is unknown is shown by the name the kernel gave, without guessing', () => {
    const orphan = link({ ifindex: 9, name: 'vethx', kind: 'veth', netns: HOST, master: 'cl0', peer: { ifindex: 2, netns: null, name: 'eth0' } });
    const port = buildNetworkModel([links[1]!, orphan, links[4]!])[0]!.ports[0]!;
    expect(port.peer).toMatchObject({ name: 'eth0', addresses: [], netns: null });
  });

  test('link events: added/changed replace by (netns, ifindex), removed drops; a new veth with an unseen peer asks for a snapshot', () => {
    const newVeth = link({ ifindex: 8, name: 'vethc2', kind: 'veth', netns: HOST, master: 'cl0', peer: { ifindex: 2, netns: 4026532600 } });
    expect(needsSnapshot(links, 'added', newVeth)).toBe(true);
    expect(needsSnapshot(links, 'changed', links[2]!)).toBe(false);
    expect(needsSnapshot(links, 'removed', newVeth)).toBe(false);
    const added = applyLinkEvent(links, 'added', newVeth);
    expect(added).toHaveLength(links.length + 1);
    const downed = applyLinkEvent(added, 'changed', { ...links[1]!, up: false });
    expect(downed.filter((l) => l.name === 'cl0')).toEqual([{ ...links[1]!, up: false }]);
    const removed = applyLinkEvent(downed, 'removed', links[2]!);
    expect(buildNetworkModel(removed)[0]!.ports.map((port) => port.name)).toEqual(['vethc2']);
    expect(removed.some((l) => l.netns === HOST && l.ifindex === 2)).toBe(true);
  });
});

describe('busybox options', () => {
  test('generated names take the lowest free number', () => {
    expect(nextBusyboxName([])).toBe('busybox-1');
    expect(nextBusyboxName(['busybox-1', 'busybox-3', 'web'])).toBe('busybox-2');
  });

  test('one-step defaults: name = hostname, sh on a terminal (run -dit), bridge network, 64m memory', () => {
    expect(defaultBusyboxOptions('busybox-1')).toEqual({ name: 'busybox-1', hostname: 'busybox-1', image: 'busybox', net: 'bridge', memory: '64m', tty: true, args: ['sh'] });
  });

  test('validation messages for bad names, sizes, CPUs and PIDs; empty limits are fine', () => {
    expect(validateContainerName('web', [])).toBeUndefined();
    expect(validateContainerName('-web', [])).toMatch(/starting with a letter or digit/);
    expect(validateContainerName('web', ['web'])).toMatch(/already exists/);
    expect(validateContainerName('x'.repeat(64), [])).toBeDefined();
    expect(validateMemory('64m')).toBeUndefined();
    expect(validateMemory('')).toBeUndefined();
    expect(validateMemory('lots')).toMatch(/64m/);
    expect(validateCpus('0.5')).toBeUndefined();
    expect(validateCpus('0')).toBeDefined();
    // the protocol's quantities: what `run --memory/--cpus` takes, the guided form takes
    expect(validateMemory('128Mi')).toBeUndefined();
    expect(validateMemory('512K')).toMatch(/ambiguous, use k \(1000\) or Ki \(1024\)/);
    expect(validateCpus('500m')).toBeUndefined();
    expect(validateCpus('half')).toMatch(/500m/);
    expect(validatePids('64')).toBeUndefined();
    expect(validatePids('1.5')).toBeDefined();
  });

  test('guided answers become run options; user namespace via userns; no net namespace means host network', () => {
    expect(guidedRunOptions({ name: 'g', command: 'sh', namespaces: DEFAULT_NAMESPACES, memory: '32m', cpus: '0.5', pids: '16', net: 'bridge' })).toEqual({
      name: 'g', image: 'busybox', net: 'bridge', tty: true, args: ['sh'], namespaces: DEFAULT_NAMESPACES, hostname: 'g', memory: '32m', cpus: '0.5', pids: 16,
    });
    const withUser = guidedRunOptions({ name: 'u', command: 'sleep 1d', namespaces: [...DEFAULT_NAMESPACES, 'user'], memory: '', cpus: '', pids: '', net: 'none' });
    expect(withUser).toMatchObject({ userns: true, net: 'none' });
    expect(withUser.namespaces).not.toContain('user');
    expect('memory' in withUser).toBe(false);
    const noNet = guidedRunOptions({ name: 'h', command: 'sh', namespaces: ['pid', 'mnt'], memory: '', cpus: '', pids: '', net: 'host' });
    expect(noNet).toMatchObject({ net: 'host', namespaces: ['pid', 'mnt'] });
    expect(noNet.hostname).toBeUndefined();
    expect(networkChoices(['pid'])).toEqual(['host']);
    expect(networkChoices(['net'])).toEqual(['bridge', 'none']);
  });
});

describe('target choice', () => {
  const none = { localSocketUsable: false, vmFolder: null, vagrantInstalled: false, settingsHost: '' };
  test('auto: local socket, then vagrant (needs both vm/ and vagrant), then settings, then ~/.ssh/config', () => {
    expect(chooseTargetKind('auto', { ...none, localSocketUsable: true, vmFolder: '/w/vm', vagrantInstalled: true, settingsHost: 'h' })).toBe('local');
    expect(chooseTargetKind('auto', { ...none, vmFolder: '/w/vm', vagrantInstalled: true, settingsHost: 'h' })).toBe('vagrant');
    expect(chooseTargetKind('auto', { ...none, vmFolder: '/w/vm', settingsHost: 'h' })).toBe('settings');
    expect(chooseTargetKind('auto', { ...none, vagrantInstalled: true, settingsHost: ' ' })).toBe('ssh-config');
  });
  test('an explicit setting wins; an unknown value counts as auto', () => {
    expect(chooseTargetKind('settings', { ...none, localSocketUsable: true })).toBe('settings');
    expect(chooseTargetKind('vagrant', none)).toBe('vagrant');
    expect(chooseTargetKind('bogus', { ...none, localSocketUsable: true })).toBe('local');
  });
  test('PATH lookup', () => {
    expect(findOnPath('vagrant', '/a::/b/', (path) => path === '/b/vagrant')).toBe('/b/vagrant');
    expect(findOnPath('vagrant', undefined, () => true)).toBeNull();
  });
});

describe('Lab view rows', () => {
  const info: AgentInfo = {
    version: '0.1.0', kernel: '6.18.0', arch: 'x64', hostname: 'lab', cgroupVersion: 'hybrid', stateRoot: '/var/lib/containers-lab',
    image: { name: 'busybox', path: '/var/lib/containers-lab/images/busybox', ready: true },
  };
  const target = { kind: 'vagrant' as const, label: 'lab VM (vagrant: default)', host: '127.0.0.1', port: 2222 };
  test('nothing while disconnected without a target (the welcome content shows)', () => {
    expect(labRows(null, 'disconnected', undefined, null)).toEqual([]);
  });
  test('target, state, then what agent.info says', () => {
    const rows = labRows(target, 'connected', undefined, info);
    expect(rows.map((row) => [row.label, row.description])).toEqual([
      ['Target', 'lab VM (vagrant: default)'],
      ['State', 'connected'],
      ['Host', 'lab (x64)'],
      ['Kernel', '6.18.0'],
      ['Cgroup', 'v1 + v2 (hybrid)'],
      ['Agent', '0.1.0'],
      ['Busybox image', '/var/lib/containers-lab/images/busybox'],
    ]);
  });
  test('a failed state carries its reason and a click to connect again', () => {
    const state = labRows(target, 'failed', 'host key changed', null).find((row) => row.key === 'state')!;
    expect(state).toMatchObject({ description: 'failed — host key changed', command: 'containersLab.connect' });
  });
  test('the State row does not repeat the target the Target row shows (the full detail stays in its tooltip)', () => {
    const detail = `${target.label} · agent 0.1.0 via streamlocal`;
    const state = labRows(target, 'connected', detail, info).find((row) => row.key === 'state')!;
    expect(state).toMatchObject({ description: 'connected — agent 0.1.0 via streamlocal', tooltip: detail });
    expect(labRows(target, 'connecting', target.label, null).find((row) => row.key === 'state')!.description).toBe('connecting');
    expect(detailBesidesTarget('host key changed', target.label)).toBe('host key changed');
    expect(detailBesidesTarget(undefined, target.label)).toBeUndefined();
  });
  test('agent.info is re-read when a container starts while the image still shows "not unpacked" — and only then', () => {
    const unpacked = info;
    const notYet: AgentInfo = { ...info, image: { ...info.image, ready: false } };
    expect(labRows(target, 'connected', undefined, notYet).find((row) => row.key === 'image')!.description).toMatch(/^not unpacked yet/);
    expect(infoIsStale(notYet, 'running')).toBe(true);
    expect(infoIsStale(notYet, 'created')).toBe(true);
    // a stop, or a container still being made, says nothing new about the image
    expect(infoIsStale(notYet, 'stopped')).toBe(false);
    expect(infoIsStale(notYet, 'creating')).toBe(false);
    // once the view shows the image, no container event makes it ask again
    expect(infoIsStale(unpacked, 'running')).toBe(false);
    expect(infoIsStale(null, 'running')).toBe(false);
  });
});

describe('terminal text', () => {
  test('log text gets carriage returns; CRLF is not doubled', () => {
    expect(withCarriageReturns('a\nb\r\nc')).toBe('a\r\nb\r\nc');
  });
  test('a UTF-8 character split across two chunks is decoded whole', () => {
    const bytes = Buffer.from('é', 'utf8');
    const decoder = new Base64TextDecoder();
    expect(decoder.decode(bytes.subarray(0, 1).toString('base64')) + decoder.decode(bytes.subarray(1).toString('base64'))).toBe('é');
    expect(Buffer.from(encodeInput('ls\r'), 'base64').toString()).toBe('ls\r');
  });
  test('shell environment: the container\'s, with TERM for xterm.js and a PATH', () => {
    expect(shellEnvironment(['PATH=/bin', 'TERM=dumb', 'HOME=/root'])).toEqual(['PATH=/bin', 'HOME=/root', 'TERM=xterm-256color']);
    expect(shellEnvironment(undefined)).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm-256color']);
  });
});

/*
 * The Containers and Networks views' models fed with REAL agent data: a busybox container started
 * by the real runtime with the extension's one-step defaults, its record (container.inspect's
 * answer) and a host snapshot (host.snapshot's answer) — checked against the kernel's own view:
 * /proc/<pid>/ns/* inodes, /proc/<pid>/task/<pid>/children, the cgroup's memory limit file and
 * `ip -j link/addr` for the bridge and veth. What the tree would show is what the kernel says.
 *
 * Names: bridge "clte0", subnet 10.77.97.0/24, containers "ext-view-…"; everything is removed in
 * afterAll and checked gone.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord, HostSnapshot } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { removeBridge } from '../agent/runtime/network';
import { openRuntime } from '../agent/runtime/runtime';
import { defaultBusyboxOptions } from '../extension/commands/busybox-options';
import { buildProcessTree, cgroupRows, filesystemRows, namespaceRows, networkRows, summaryFromRecord, containerDescription } from '../extension/views/containers/model';
import { buildNetworkModel } from '../extension/views/networks/model';
import { ipJson, leftovers, NONE_LEFT, nsInode } from './helpers/kernel-witness';
import { waitFor } from './helpers/wait';

const BRIDGE = 'clte0';
const SUBNET = '10.77.97.0/24';
const NAME = 'ext-view-1';

let stateRoot: string;
let runtime: ContainerRuntime;
let record: ContainerRecord;
let snapshot: HostSnapshot;
const made: ContainerRecord[] = [];


beforeAll(async () => {
  stateRoot = mkdtempSync('/tmp/cl-ext-views-test-');
  runtime = openRuntime({ stateRoot });
  // The extension's one-step options, plus this file's own bridge; PID 1 starts two children so
  // the process tree has a shape to check.
  const started = await runtime.run({ ...defaultBusyboxOptions(NAME), bridge: BRIDGE, subnet: SUBNET, args: ['sh', '-c', 'sleep 300 & sleep 301 & wait'] });
  made.push(started);
  record = await waitFor(() => runtime.inspect(started.id), (r) => r.processes.filter((p) => p.command.startsWith('sleep ')).length === 2);
  snapshot = runtime.snapshot();
});

afterAll(async () => {
  for (const container of runtime.list()) await runtime.remove(container.id, true);
  removeBridge(BRIDGE, stateRoot);
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  expect(ipJson(['link', 'show']).some((link) => link.ifname === BRIDGE)).toBe(false);
  runtime.close();
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('Containers view on a real container', () => {
  test('the node reads "ext-view-1" · running · its IP', () => {
    expect(record.name).toBe(NAME);
    expect(containerDescription(summaryFromRecord(record))).toBe(`running · ${record.network.ip}`);
    expect(record.network.ip).toMatch(/^10\.77\.97\.\d+$/);
  });

  test('Namespaces rows show the kernel\'s inodes; user is shared with the host', () => {
    const pid = record.pid!;
    const rows = namespaceRows(record);
    for (const row of rows) {
      expect(row.label, row.type).toBe(`${row.type}: ${nsInode(pid, row.type)}${row.shared ? ' shared with host' : ''}`);
    }
    expect(rows.find((row) => row.type === 'user')).toMatchObject({ shared: true, description: '' });
    expect(nsInode(pid, 'user')).toBe(nsInode('self', 'user'));
    for (const type of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts']) {
      expect(rows.find((row) => row.type === type)!.description, type).toBe('own');
      expect(nsInode(pid, type), type).not.toBe(nsInode('self', type));
    }
  });

  test('Processes: PID 1 (sh) with its two sleeps as children, as /proc/<pid>/task/<pid>/children says', () => {
    const tree = buildProcessTree(record.processes);
    expect(tree).toHaveLength(1);
    const root = tree[0]!;
    expect(root.process).toMatchObject({ pid: record.pid, nspid: 1, command: 'sh -c sleep 300 & sleep 301 & wait' });
    const kernelChildren = readFileSync(`/proc/${record.pid}/task/${record.pid}/children`, 'utf8').trim().split(/\s+/).map(Number).sort((a, b) => a - b);
    expect(root.children.map((child) => child.process.pid)).toEqual(kernelChildren);
    expect(root.children.map((child) => child.process.command).sort()).toEqual(['sleep 300', 'sleep 301']);
  });

  test('Cgroup: the 64 MiB default is the limit the kernel enforces', () => {
    const rows = cgroupRows(record.cgroup);
    expect(rows[0]!.label).toMatch(/^memory: .+ \/ 64 MiB$/);
    const memoryFile = record.cgroup!.files.memory!;
    expect(Number(readFileSync(memoryFile, 'utf8').trim())).toBe(64 * 1024 * 1024);
  });

  test('Filesystem: overlay layers and the container\'s own /proc mount', () => {
    const rows = filesystemRows(record);
    const overlay = rows.find((row) => row.key === 'overlay')!;
    expect(overlay.children!.map((row) => row.label)).toContain(`upper: ${record.rootfs!.upper}`);
    const mounts = rows.find((row) => row.key === 'mounts')!.children!;
    expect(mounts.find((row) => row.label === '/proc')?.description).toMatch(/^proc /);
  });

  test('Network rows: eth0 with the address inside, the veth the host sees on the bridge', () => {
    const labels = networkRows(record.network).map((row) => row.label);
    expect(labels[0]).toBe(`eth0: ${record.network.ip}/24`);
    const ports = ipJson<{ ifname: string }[]>(['link', 'show', 'master', BRIDGE]).map((link) => link.ifname);
    expect(ports).toContain(record.network.vethHost);
    expect(labels).toContain(`veth peer: ${record.network.vethHost}`);
    expect(labels).toContain(`bridge: ${BRIDGE}`);
  });
});

describe('Networks view on a real snapshot', () => {
  test('bridge → the container\'s veth → its eth0 with address and container name, as `ip` shows', () => {
    const bridge = buildNetworkModel(snapshot.links).find((candidate) => candidate.name === BRIDGE);
    expect(bridge).toBeDefined();
    const kernelBridge = ipJson<{ addr_info: { family: string; local: string; prefixlen: number }[] }[]>(['addr', 'show', 'dev', BRIDGE])[0]!;
    const gateway = kernelBridge.addr_info.find((address) => address.family === 'inet')!;
    expect(bridge!.addresses).toContain(`${gateway.local}/${gateway.prefixlen}`);
    const kernelPorts = ipJson<{ ifname: string }[]>(['link', 'show', 'master', BRIDGE]).map((link) => link.ifname).sort();
    expect(bridge!.ports.map((port) => port.name).sort()).toEqual(kernelPorts);
    const port = bridge!.ports.find((candidate) => candidate.name === record.network.vethHost)!;
    expect(port.peer).toMatchObject({ name: 'eth0', container: NAME, netns: nsInode(record.pid!, 'net') });
    expect(port.peer!.addresses).toContain(`${record.network.ip}/24`);
  });
});

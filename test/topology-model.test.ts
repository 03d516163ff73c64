/*
 * The topology's pure mapping (extension/webviews/topology/model.ts) on real data: containers
 * started by the real agent service on a bridge of this file's own, one with `--net none`, two
 * with `--net host`; a real host.snapshot; and the agent's own link.changed notifications for the
 * live part. Every node and edge is checked against the kernel through `ip -j` (in the host and,
 * through nsenter, in each container's namespace) and /proc/<pid>/ns/net — never against what the
 * agent said.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentNotifications, ContainerRecord, LinkRecord, RunOptions } from '../agent/protocol';
import {
  applyContainerRecord,
  applyContainerRemoved,
  applyLinkChange,
  buildGraph,
  containerNodeId,
  diffGraphs,
  inputsFromSnapshot,
  linkNodeId,
  netnsNodeId,
  processNodeId,
  type TopologyGraph,
  type TopologyInputs,
} from '../extension/webviews/topology/model';
import { addressesOf, ipAddr } from './helpers/ip-addr';
import { leftovers, NONE_LEFT, nsInode, removeBridgeIfCreated } from './helpers/kernel-witness';
import { startService, stopService, type RunningService } from './helpers/service';
import { waitFor } from './helpers/wait';

const BRIDGE = 'cltopo0';
const SUBNET = '10.77.142.0/24';

const work = mkdtempSync('/tmp/cl-topology-model-');
let agent: RunningService;
const removeBridge = removeBridgeIfCreated(BRIDGE);
const made: ContainerRecord[] = [];
const linkEvents: AgentNotifications['link.changed'][] = [];

async function run(options: RunOptions): Promise<ContainerRecord> {
  const bridged = options.net === undefined || options.net === 'bridge';
  const record = await agent.client.call('container.run', bridged ? { bridge: BRIDGE, subnet: SUBNET, ...options } : options);
  made.push(record);
  return record;
}

async function inspectAll(): Promise<ContainerRecord[]> {
  const list = await agent.client.call('container.list', {});
  return Promise.all(list.map((summary) => agent.client.call('container.inspect', { id: summary.id })));
}

async function snapshotInputs(): Promise<TopologyInputs> {
  const snapshot = await agent.client.call('host.snapshot', {}, { timeoutMs: 30_000 });
  return inputsFromSnapshot(snapshot, await inspectAll());
}

const childrenOf = (graph: TopologyGraph, parent: string): string[] => [...graph.nodes.values()].filter((node) => node.parent === parent).map((node) => node.id).sort();
// this test process runs in the host's network namespace, as the agent does
const hostNetns = (): number => nsInode('self', 'net');

beforeAll(async () => {
  mkdirSync(join(work, 'run'));
  agent = await startService(join(work, 'state'), join(work, 'run', 'agent.sock'));
  agent.client.on('link.changed', (event) => linkEvents.push(event));
  for (const name of ['topo-a', 'topo-b', 'topo-c']) await run({ name, args: ['sleep', '600'] });
  await run({ name: 'topo-none', net: 'none', args: ['sleep', '600'] });
  await run({ name: 'topo-host1', net: 'host', args: ['sleep', '600'] });
  await run({ name: 'topo-host2', net: 'host', args: ['sleep', '600'] });
});

afterAll(async () => {
  if (agent) {
    for (const summary of await agent.client.call('container.list', {}).catch(() => [])) {
      await agent.client.call('container.remove', { id: summary.id, force: true }).catch(() => undefined);
    }
    await stopService(agent);
  }
  removeBridge();
  expect(leftovers(join(work, 'state'), made)).toEqual(NONE_LEFT);
  rmSync(work, { recursive: true, force: true });
});

describe('snapshot + records → graph', () => {
  let graph: TopologyGraph;
  /** Host links `ip -j addr` listed, unchanged, both before and after the snapshot (other test files add and remove theirs meanwhile). */
  let steadyHostLinks: ReturnType<typeof ipAddr>;
  beforeAll(async () => {
    const before = ipAddr();
    graph = buildGraph(await snapshotInputs());
    const after = new Map(ipAddr().map((link) => [link.ifname, JSON.stringify(link)]));
    steadyHostLinks = before.filter((link) => after.get(link.ifname) === JSON.stringify(link));
  });

  it('the host namespace holds every host link, with the addresses `ip -j addr` lists', () => {
    const host = netnsNodeId(hostNetns());
    expect(graph.nodes.get(host)?.kind).toBe('host');
    expect(steadyHostLinks.map((link) => link.ifname)).toContain(BRIDGE);
    for (const link of steadyHostLinks) {
      const node = graph.nodes.get(linkNodeId(hostNetns(), link.ifname));
      expect(node, `host link ${link.ifname}`).toBeDefined();
      expect(node!.parent).toBe(host);
      expect(node!.addresses, `addresses of ${link.ifname}`).toEqual(addressesOf(link));
    }
    // and nothing that is not there (links of other tests may come and go meanwhile: compare our bridge's ports)
    const ports = ipAddr(undefined, ['master', BRIDGE]).map((link) => link.ifname).sort();
    const graphPorts = [...graph.edges.values()].filter((edge) => edge.kind === 'master' && edge.target === linkNodeId(hostNetns(), BRIDGE)).map((edge) => graph.nodes.get(edge.source)!.label).sort();
    expect(graphPorts).toEqual(ports);
    expect(ports).toHaveLength(3);
    expect(graph.nodes.get(linkNodeId(hostNetns(), BRIDGE))?.kind).toBe('bridge');
  });

  it('each bridged container has its own namespace with lo and eth0, wired by a veth pair to its host end', () => {
    for (const record of made.filter((entry) => entry.network.mode === 'bridge')) {
      const pid = record.pid!;
      const inode = nsInode(pid, 'net');
      expect(inode).not.toBe(hostNetns());
      const netns = netnsNodeId(inode);
      const inside = ipAddr(pid);
      expect(childrenOf(graph, netns)).toEqual([containerNodeId(record.id), ...inside.map((link) => linkNodeId(inode, link.ifname))].sort());
      for (const link of inside) {
        const node = graph.nodes.get(linkNodeId(inode, link.ifname))!;
        expect(node.addresses, `${record.name} ${link.ifname}`).toEqual(addressesOf(link));
      }
      // eth0@ifN: N is the host end's ifindex
      const eth0 = inside.find((link) => link.ifname === 'eth0')!;
      const hostEnd = ipAddr().find((link) => link.ifindex === eth0.link_index)!;
      expect(hostEnd.master).toBe(BRIDGE);
      const ends = [linkNodeId(inode, 'eth0'), linkNodeId(hostNetns(), hostEnd.ifname)].sort();
      const edge = graph.edges.get(`veth:${ends[0]}|${ends[1]}`);
      expect(edge?.kind, `${record.name}'s veth pair`).toBe('veth');
      expect(graph.edges.get(`master:${linkNodeId(hostNetns(), hostEnd.ifname)}`)?.target).toBe(linkNodeId(hostNetns(), BRIDGE));
    }
  });

  it('a --net none container has a namespace holding only lo', () => {
    const record = made.find((entry) => entry.name === 'topo-none')!;
    const inode = nsInode(record.pid!, 'net');
    expect(ipAddr(record.pid!).map((link) => link.ifname)).toEqual(['lo']);
    expect(childrenOf(graph, netnsNodeId(inode))).toEqual([containerNodeId(record.id), linkNodeId(inode, 'lo')].sort());
    expect([...graph.edges.values()].filter((edge) => edge.source.startsWith(`link:${inode}/`) || edge.target.startsWith(`link:${inode}/`))).toEqual([]);
  });

  it('containers sharing a namespace are one namespace node: host-network containers sit in the host node', () => {
    const hosts = made.filter((entry) => entry.network.mode === 'host');
    for (const record of hosts) {
      expect(nsInode(record.pid!, 'net')).toBe(hostNetns());
      expect(graph.nodes.get(containerNodeId(record.id))?.parent).toBe(netnsNodeId(hostNetns()));
    }
    const namespaces = [...graph.nodes.values()].filter((node) => node.kind === 'netns' || node.kind === 'host');
    const distinct = new Set(made.map((record) => nsInode(record.pid!, 'net')));
    // the graph's namespaces are exactly those of our containers plus the host (other agents' containers are not ours)
    expect(namespaces.map((node) => node.netns).sort()).toEqual([...distinct].sort());
  });

  it('each container holds its processes, by host PID, with the PID its own namespace gives them', () => {
    for (const record of made) {
      const pid = record.pid!;
      const process = graph.nodes.get(processNodeId(pid));
      expect(process?.parent).toBe(containerNodeId(record.id));
      const nspid = execFileSync('grep', ['^NSpid:', `/proc/${pid}/status`], { encoding: 'utf8' }).trim().split(/\s+/).pop();
      expect(process!.detail).toBe(`pid ${nspid} inside · ${pid} on host`);
      expect(process!.label).toBe(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' '));
    }
  });
});

describe('notifications → diffs', () => {
  it('a new container adds its namespace, links, container, process and veth pair; nothing else changes; a snapshot agrees', async () => {
    let inputs = await snapshotInputs();
    const before = buildGraph(inputs);
    linkEvents.length = 0;
    const record = await run({ name: 'topo-d', args: ['sleep', '600'] });
    // The host end's 'added' arrives as a notification; the record arrives as container.run's answer (the panel inspects on container.changed).
    const events = await waitFor(() => linkEvents.filter((event) => event.link.name === record.network.vethHost), (found) => found.some((event) => event.link.master === BRIDGE));
    for (const event of events) inputs = applyLinkChange(inputs, event.event, event.link);
    inputs = applyContainerRecord(inputs, await agent.client.call('container.inspect', { id: record.id }));
    const live = buildGraph(inputs);
    const diff = diffGraphs(before, live);

    const inode = nsInode(record.pid!, 'net');
    const hostEnd = linkNodeId(hostNetns(), record.network.vethHost!);
    expect(diff.remove).toEqual([]);
    expect(diff.add.nodes.map((node) => node.id).sort()).toEqual(
      [netnsNodeId(inode), linkNodeId(inode, 'lo'), linkNodeId(inode, 'eth0'), containerNodeId(record.id), processNodeId(record.pid!), hostEnd].sort(),
    );
    // parents come before their children
    expect(diff.add.nodes.findIndex((node) => node.id === netnsNodeId(inode))).toBeLessThan(diff.add.nodes.findIndex((node) => node.id === containerNodeId(record.id)));
    const ends = [linkNodeId(inode, 'eth0'), hostEnd].sort();
    expect(diff.add.edges.map((edge) => edge.id).sort()).toEqual([`master:${hostEnd}`, `veth:${ends[0]}|${ends[1]}`].sort());
    expect(diff.update.nodes.map((node) => node.id).filter((id) => !id.startsWith(`link:${hostNetns()}/`))).toEqual([]);

    // The kernel's full picture (a fresh snapshot) has the same elements the events built.
    const truth = buildGraph(await snapshotInputs());
    const catchUp = diffGraphs(live, truth);
    const ours = (id: string): boolean => id.includes(String(inode)) || id.includes(record.id) || id === hostEnd;
    expect(catchUp.add.nodes.map((node) => node.id).filter(ours)).toEqual([]);
    expect(catchUp.remove.filter(ours)).toEqual([]);
    expect(ipAddr(record.pid!).map((link) => link.ifname).sort()).toEqual(['eth0', 'lo']);
  });

  it('a namespace inode handed out again: links a snapshot listed under it for no container are an earlier namespace\'s; the new container\'s lo and eth0 are drawn', async () => {
    const record = await run({ name: 'topo-r', args: ['sleep', '600'] });
    const inode = nsInode(record.pid!, 'net');
    const snapshot = await snapshotInputs();
    // As read just before this namespace existed, when a namespace that has died since had its inode and only a loopback.
    const stale: LinkRecord = { ifindex: 1, name: 'lo', kind: 'loopback', mac: null, mtu: 65536, up: false, netns: inode, addresses: [], master: null, peer: null };
    const inputs = applyContainerRecord(
      { ...snapshot, containers: snapshot.containers.filter((container) => container.id !== record.id), links: [...snapshot.links.filter((link) => link.netns !== inode), stale] },
      await agent.client.call('container.inspect', { id: record.id }),
    );
    const graph = buildGraph(inputs);
    expect(graph.nodes.has(linkNodeId(inode, 'eth0'))).toBe(true);
    expect(graph.nodes.has(linkNodeId(inode, 'lo'))).toBe(true);
    await agent.client.call('container.remove', { id: record.id, force: true });
  });

  it('removing a container removes its namespace, links, process and edges, children before parents', async () => {
    let inputs = await snapshotInputs();
    const before = buildGraph(inputs);
    const record = made.find((entry) => entry.name === 'topo-d')!;
    const inode = nsInode(record.pid!, 'net');
    linkEvents.length = 0;
    await agent.client.call('container.remove', { id: record.id, force: true });
    const events = await waitFor(() => linkEvents.filter((event) => event.link.name === record.network.vethHost), (found) => found.some((event) => event.event === 'removed'));
    for (const event of events) inputs = applyLinkChange(inputs, event.event, event.link);
    inputs = applyContainerRemoved(inputs, record.id);
    const diff = diffGraphs(before, buildGraph(inputs));
    const hostEnd = linkNodeId(hostNetns(), record.network.vethHost!);
    const expected = [netnsNodeId(inode), linkNodeId(inode, 'lo'), linkNodeId(inode, 'eth0'), containerNodeId(record.id), processNodeId(record.pid!), hostEnd];
    expect(diff.remove.filter((id) => !id.startsWith('veth:') && !id.startsWith('master:')).sort()).toEqual(expected.sort());
    expect(diff.remove.indexOf(processNodeId(record.pid!))).toBeLessThan(diff.remove.indexOf(containerNodeId(record.id)));
    expect(diff.remove.indexOf(containerNodeId(record.id))).toBeLessThan(diff.remove.indexOf(netnsNodeId(inode)));
    expect(diff.add.nodes).toEqual([]);
    expect(ipAddr().map((link) => link.ifname)).not.toContain(record.network.vethHost);
  });
});

describe('a pod: a sandbox and two members in one network namespace', () => {
  const POD = 'topo-pod';
  let pod: ContainerRecord[];
  let before: TopologyInputs;

  beforeAll(async () => {
    before = await snapshotInputs();
    // The first member brings the pod's network (this file's bridge) and makes the sandbox; the second joins it.
    await run({ name: 'topo-pod-web', pod: POD, args: ['sleep', '600'] });
    made.push(await agent.client.call('container.run', { name: 'topo-pod-side', pod: POD, args: ['sleep', '600'] }));
    const sandbox = await agent.client.call('container.inspect', { id: `${POD}-pause` });
    made.push(sandbox);
    pod = await Promise.all([sandbox.id, ...made.filter((record) => record.pod?.name === POD && !record.pod.sandbox).map((record) => record.id)].map((id) => agent.client.call('container.inspect', { id })));
  });

  /** The pod's namespace as the kernel has it: one inode for the three, and the links `ip -j` lists in it. */
  function kernelView(): { inode: number; inside: ReturnType<typeof ipAddr> } {
    const inodes = new Set(pod.map((record) => nsInode(record.pid!, 'net')));
    expect(inodes.size, 'the pod’s containers share one network namespace').toBe(1);
    const [inode] = [...inodes];
    expect(inode).not.toBe(hostNetns());
    return { inode: inode!, inside: ipAddr(pod[0]!.pid!) };
  }

  /** One namespace node, named after the pod, holding the three containers (with their processes) and one eth0 wired to one host end. */
  function expectOneNode(graph: TopologyGraph, { ipv4Only = false } = {}): void {
    const { inode, inside } = kernelView();
    expect(inside.map((link) => link.ifname).sort()).toEqual(['eth0', 'lo']);
    const netns = netnsNodeId(inode);
    expect(graph.nodes.get(netns)?.label).toBe(`pod ${POD}`);
    expect(graph.nodes.get(netns)?.reveal).toEqual({ view: 'containers', containerId: pod[0]!.id });
    expect([...graph.nodes.values()].filter((node) => node.netns === inode && (node.kind === 'netns' || node.kind === 'host'))).toHaveLength(1);
    expect(childrenOf(graph, netns)).toEqual([...pod.map((record) => containerNodeId(record.id)), ...inside.map((link) => linkNodeId(inode, link.ifname))].sort());
    for (const record of pod) {
      expect(childrenOf(graph, containerNodeId(record.id)), `${record.name}'s processes`).toEqual(record.processes.map((process) => processNodeId(process.pid)).sort());
      expect(childrenOf(graph, containerNodeId(record.id))).toContain(processNodeId(record.pid!));
    }
    expect(graph.nodes.get(containerNodeId(pod[0]!.id))?.detail).toMatch(/^pod sandbox · running/);
    const eth0 = inside.find((link) => link.ifname === 'eth0')!;
    // (drawn from records, eth0 has the address the runtime gave it; the kernel's IPv6 link-local one comes with the next snapshot)
    const expected = addressesOf(eth0, ipv4Only ? 'inet' : undefined);
    expect(graph.nodes.get(linkNodeId(inode, 'eth0'))?.addresses).toEqual(expected);
    const hostEnd = ipAddr().find((link) => link.ifindex === eth0.link_index)!;
    expect(hostEnd.master).toBe(BRIDGE);
    const cables = [...graph.edges.values()].filter((edge) => edge.kind === 'veth' && [edge.source, edge.target].some((end) => end.startsWith(`link:${inode}/`)));
    const ends = [linkNodeId(inode, 'eth0'), linkNodeId(hostNetns(), hostEnd.ifname)].sort();
    expect(cables.map((edge) => edge.id)).toEqual([`veth:${ends[0]}|${ends[1]}`]);
  }

  it('the kernel: members joined the sandbox’s net namespace (config.json names it by path)', () => {
    const [sandbox, ...members] = pod;
    expect(sandbox!.pod).toEqual({ name: POD, sandbox: true });
    expect(members).toHaveLength(2);
    for (const member of members) expect(member.config.linux?.namespaces).toContainEqual({ type: 'network', path: `/proc/${sandbox!.pid}/ns/net` });
    kernelView();
  });

  it('a snapshot draws it as one namespace node, "pod topo-pod", with one eth0 and one veth pair', async () => {
    expectOneNode(buildGraph(await snapshotInputs()));
  });

  it('drawn live from link.changed and the three records (before any snapshot lists the namespace), it is the same one node', async () => {
    let inputs = before;
    const hostEnd = pod[0]!.network.vethHost;
    const events = await waitFor(() => linkEvents.filter((event) => event.link.name === hostEnd), (found) => found.some((event) => event.link.master === BRIDGE));
    for (const event of events) inputs = applyLinkChange(inputs, event.event, event.link);
    for (const record of pod) inputs = applyContainerRecord(inputs, record);
    expectOneNode(buildGraph(inputs), { ipv4Only: true });
  });
});

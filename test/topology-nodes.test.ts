/*
 * Ports and nodes in the extension's models, from a real agent's answers (no browser, no VS Code):
 * node A of two (network namespaces joined by a veth, each with its own agent: ./helpers/two-nodes.ts)
 * runs a container that publishes ports and knows node B. The Topology's graph (buildGraph) gets a
 * port chip per published port with a DNAT edge to its container, a peer node with B's subnet, and
 * a route edge from A's bridge (routed mode) that becomes a tunnel edge from A's VXLAN device
 * (overlay mode) — through node.changed as the panel receives it. The Containers tree's Ports rows
 * and their browser address, the Networks view's Nodes rows and the Lab view's node rows come from
 * the same records. The layout places the new chips (every node gets a box).
 *
 * Subnets: 10.77.186.0/24 between the nodes, 10.77.184.0/24 (A) and 10.77.185.0/24 (B).
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord, NodesView } from '../agent/protocol';
import { applyNodesChange, buildGraph, diffGraphs, inputsFromSnapshot, linkNodeId, containerNodeId, type TopologyInputs } from '../extension/webviews/topology/model';
import { peerNodeId, portNodeId } from '../extension/webviews/topology/model-nodes';
import { layoutTopology } from '../extension/webviews/topology/view/layout';
import { portRows } from '../extension/views/containers/ports-model';
import { hasNodes, peerRows, thisNodeRow } from '../extension/views/networks/nodes-model';
import { labRows } from '../extension/views/lab/model';
import { joinNamespaces, removeNamespaces, startNode, stopNode, type NodeSpec, type RunningNode } from './helpers/two-nodes';

const A: NodeSpec = { netns: 'cltn-a', address: '10.77.186.1', bridge: 'cltn0', subnet: '10.77.184.0/24' };
const B: NodeSpec = { netns: 'cltn-b', address: '10.77.186.2', bridge: 'cltn0', subnet: '10.77.185.0/24' };

let a: RunningNode;
let web: ContainerRecord;
const nodeEvents: NodesView[] = [];

async function inputs(): Promise<TopologyInputs> {
  const client = a.service.client;
  const [snapshot, list, nodes] = await Promise.all([client.call('host.snapshot', {}, { timeoutMs: 30_000 }), client.call('container.list', {}), client.call('node.list', {})]);
  const records = await Promise.all(list.map((summary) => client.call('container.inspect', { id: summary.id })));
  // Node A's host namespace is the one its agent runs in. (The panel takes the namespace with the
  // most processes, which on a real node is that one; here it would be this machine's own.)
  return { ...inputsFromSnapshot(snapshot, records, nodes), hostNetns: statSync(`/run/netns/${A.netns}`).ino };
}

beforeAll(async () => {
  joinNamespaces(A, B, 'cltn-u');
  a = await startNode(A);
  a.service.client.on('node.changed', (view) => nodeEvents.push(view));
  web = await a.service.client.call('container.run', { name: 'web', net: 'bridge', ports: ['8080:80', '127.0.0.1:5353:53/udp'] });
}, 60_000);

afterAll(async () => {
  if (a) await stopNode(a).catch(() => undefined);
  removeNamespaces(A, B);
  expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(/cltn-/);
}, 60_000);

describe('published ports', () => {
  test('the Containers tree: a row per port, a browser address for TCP only', () => {
    const rows = portRows(web.ports, web.network.ip);
    expect(rows.map((row) => [row.label, row.contextValue, row.url])).toEqual([
      ['0.0.0.0:8080->80/tcp', 'port.tcp', 'http://127.0.0.1:8080'],
      ['127.0.0.1:5353->53/udp', 'port.udp', null],
    ]);
    expect(rows[0]!.tooltip).toContain(`container ${web.network.ip}:80`);
  });

  test('the Topology: a port chip in the host per published port, a DNAT edge to its container, each placed by the layout', async () => {
    const current = await inputs();
    const graph = buildGraph(current);
    const host = `netns:${current.hostNetns}`;
    for (const port of web.ports) {
      const id = portNodeId(web.id, port);
      expect(graph.nodes.get(id)).toMatchObject({ kind: 'port', parent: host, reveal: { view: 'containers', containerId: web.id } });
      expect(graph.edges.get(`dnat:${id}`)).toMatchObject({ kind: 'dnat', source: id, target: containerNodeId(web.id) });
    }
    const layout = layoutTopology(graph, { viewport: { width: 1200, height: 800 } });
    for (const id of graph.nodes.keys()) expect(layout.boxes.has(id), id).toBe(true);
  });
});

describe('nodes', () => {
  test('no peers: nothing of nodes in the graph or the views', async () => {
    const current = await inputs();
    expect(current.nodes).toMatchObject({ mode: 'none', nodes: [] });
    expect([...buildGraph(current).nodes.values()].filter((node) => node.kind === 'peer')).toEqual([]);
    expect(hasNodes(current.nodes ?? null)).toBe(false);
  });

  test('routed: the peer with its subnet, a route edge from this node’s bridge; the host says which node it is', async () => {
    await a.service.client.call('node.add', { name: 'b', address: B.address, subnet: B.subnet });
    await a.service.client.call('node.mode', { mode: 'routed' });
    const current = await inputs();
    const graph = buildGraph(current);
    const peer = graph.nodes.get(peerNodeId('b'));
    expect(peer).toMatchObject({ kind: 'peer', label: 'node b', addresses: [B.subnet], state: 'up' });
    expect(peer!.detail).toBe(`${B.subnet} · route via ${B.address}`);
    expect(graph.edges.get(`route:${peerNodeId('b')}`)).toMatchObject({ kind: 'route', source: linkNodeId(current.hostNetns, A.bridge), target: peerNodeId('b') });
    expect(graph.nodes.get(`netns:${current.hostNetns}`)!.detail).toContain(`this node ${A.subnet} at ${A.address} · routed`);
    // the container sits in this node's host: its address is in this node's subnet
    expect(graph.nodes.get(containerNodeId(web.id))!.detail).toContain(web.network.ip!);
    const layout = layoutTopology(graph, { viewport: { width: 1200, height: 800 } });
    expect(layout.boxes.has(peerNodeId('b'))).toBe(true);
    expect(layout.routes.has(`route:${peerNodeId('b')}`)).toBe(true);

    // The Networks view's Nodes section and the Lab view's node list.
    const view = current.nodes!;
    expect(thisNodeRow(view).description).toBe(`${A.subnet} at ${A.address} · routed`);
    expect(peerRows(view)).toEqual([expect.objectContaining({ label: 'b', description: `${B.subnet} at ${B.address} · route via ${B.address}`, icon: 'remote' })]);
    const info = await a.service.client.call('agent.info', {});
    const rows = labRows({ kind: 'local', label: 'this machine' } as never, 'connected', undefined, info, view);
    expect(rows.map((row) => row.label).slice(-2)).toEqual(['This node', 'Node b']);
  });

  test('overlay (via node.changed, as the panel gets it): the edge becomes a tunnel from the VXLAN device, as a diff', async () => {
    const before = await inputs();
    const graphBefore = buildGraph(before);
    nodeEvents.length = 0;
    await a.service.client.call('node.mode', { mode: 'overlay', vni: 4343 });
    await expect.poll(() => nodeEvents.length).toBeGreaterThan(0);
    const fresh = await inputs(); // the new VXLAN link, as a snapshot (or link.changed) brings it
    const after = applyNodesChange({ ...fresh, nodes: before.nodes }, nodeEvents.at(-1)!);
    const graph = buildGraph(after);
    const vxlan = linkNodeId(after.hostNetns, 'clvx4343');
    expect(graph.nodes.get(vxlan)).toMatchObject({ kind: 'device' });
    expect(graph.edges.get(`tunnel:${peerNodeId('b')}`)).toMatchObject({ kind: 'tunnel', source: vxlan, target: peerNodeId('b') });
    expect(graph.edges.has(`route:${peerNodeId('b')}`)).toBe(false);
    expect(graph.nodes.get(peerNodeId('b'))!.detail).toBe(`${B.subnet} · VXLAN 4343 to ${B.address}`);
    const diff = diffGraphs(graphBefore, graph);
    expect(diff.remove).toContain(`route:${peerNodeId('b')}`);
    expect(diff.add.edges.map((edge) => edge.id)).toContain(`tunnel:${peerNodeId('b')}`);
    expect(thisNodeRow(after.nodes!).tooltip).toMatch(/VXLAN clvx4343 \(VNI 4343, 0a:58:0a:4d:b8:00, MTU 1450 over cltn-ua\)/);
  });

  test('removing the node takes it out of the graph and the views', async () => {
    const view = await a.service.client.call('node.remove', { name: 'b' });
    const graph = buildGraph({ ...(await inputs()), nodes: view });
    expect(graph.nodes.has(peerNodeId('b'))).toBe(false);
    expect([...graph.edges.keys()].filter((id) => id.startsWith('tunnel:') || id.startsWith('route:'))).toEqual([]);
    expect(peerRows(view)).toEqual([]);
    await a.service.client.call('node.mode', { mode: 'none' });
  });
});

/*
 * The Live Topology panel in a real VS Code (code-server + headless Chromium, the packaged .vsix,
 * the agent over loopback SSH — helpers/lab-session.ts), against real containers:
 *
 *   3 containers on a bridge of this file's own + 1 with --net none → the graph holds their
 *   namespaces, links, veth pairs and processes, checked against `ip -j` and /proc/<pid>/ns/net;
 *   a 4th container → its nodes appear without a reload; removing one → its nodes go; a pod (its
 *   sandbox + 2 members) → one namespace node "pod …" holding the three containers, one eth0 and
 *   one veth pair, as /proc/<pid>/ns/net and `ip -j` have it; a click on a
 *   node selects it in the sidebar; the keyboard moves the selection; "Export Topology as SVG"
 *   writes a file; a window reload brings the panel back (serializer) with the same graph.
 *
 * The page exposes its model as window.__topology and as an offscreen list with data-* attributes;
 * both are read here. Screenshots go to test/artifacts/e2e/topology-*.png.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRecord, RunOptions } from '../../agent/protocol';
import { containerNodeId, linkNodeId, netnsNodeId, processNodeId, type TopologyEdgeData, type TopologyNodeData } from '../../extension/webviews/topology/model';
import { nsInode } from '../helpers/kernel-witness';
import { reloadWindow, runCommand, screenshot, viewPane } from './helpers/browser';
import { startLabSession, type LabSession } from './helpers/lab-session';
import { waitForWebview, waitInWebview, type WebviewQuery } from './helpers/webview';

const BRIDGE = 'cltopoe0';
const SUBNET = '10.77.98.0/24';
const TOPOLOGY: WebviewQuery = { name: 'topology' };

interface Probe {
  nodes: Record<string, TopologyNodeData>;
  edges: Record<string, TopologyEdgeData>;
  selected: string | null;
}

let session: LabSession;
const records = new Map<string, ContainerRecord>();

async function run(name: string, options: RunOptions = {}): Promise<ContainerRecord> {
  const bridged = options.net === undefined || options.net === 'bridge';
  const record = await session.agent.client.call('container.run', { name, args: ['sleep', '600'], ...(bridged ? { bridge: BRIDGE, subnet: SUBNET } : {}), ...options });
  records.set(name, record);
  return record;
}

function linkNames(pid?: number): { ifname: string; ifindex: number; link_index?: number; master?: string }[] {
  const [command, prefix] = pid ? ['nsenter', ['-t', String(pid), '-n', 'ip']] : ['ip', []];
  return JSON.parse(execFileSync(command, [...prefix, '-j', 'link', 'show'], { encoding: 'utf8' }) || '[]');
}

async function probe(): Promise<Probe> {
  const { frame } = await waitForWebview(session.page, TOPOLOGY);
  return frame.evaluate(() => {
    const model = (window as unknown as { __topology: Probe }).__topology;
    return { nodes: model.nodes, edges: model.edges, selected: model.selected };
  });
}

/** Waits until the page's model has (or, present false, lacks) every node id given. */
async function waitForNodes(ids: string[], present = true, timeout = 30_000): Promise<void> {
  await waitInWebview(
    session.page,
    TOPOLOGY,
    ({ ids: wanted, present: want }) => {
      const model = (window as unknown as { __topology?: Probe }).__topology;
      return !!model && wanted.every((id) => (id in model.nodes) === want);
    },
    { ids, present },
    timeout,
  ).catch(async (error: unknown) => {
    await screenshot(session.page, 'topology-failed');
    const now = await probe().catch(() => null);
    throw new Error(`${String(error)}\nwanted ${present ? '' : 'gone: '}${ids.join(', ')}\nnodes: ${Object.keys(now?.nodes ?? {}).join(', ')}\n${session.diagnostics()}`);
  });
}

/** Every node and edge the kernel says a bridged container must have in the graph. */
function expectedFor(record: ContainerRecord): { nodes: string[]; edges: string[] } {
  const pid = record.pid!;
  const inode = nsInode(pid, 'net');
  const host = nsInode('self', 'net');
  const inside = linkNames(pid);
  const nodes = [netnsNodeId(inode), containerNodeId(record.id), processNodeId(pid), ...inside.map((link) => linkNodeId(inode, link.ifname))];
  const edges: string[] = [];
  const eth0 = inside.find((link) => link.ifname === 'eth0');
  if (eth0) {
    const hostEnd = linkNames().find((link) => link.ifindex === eth0.link_index)!;
    expect(hostEnd.master, `${record.name}'s host end is on ${BRIDGE}`).toBe(BRIDGE);
    const ends = [linkNodeId(inode, 'eth0'), linkNodeId(host, hostEnd.ifname)].sort();
    nodes.push(linkNodeId(host, hostEnd.ifname));
    edges.push(`veth:${ends[0]}|${ends[1]}`, `master:${linkNodeId(host, hostEnd.ifname)}`);
  }
  return { nodes, edges };
}

beforeAll(async () => {
  session = await startLabSession({ label: 'topology', bridges: [BRIDGE] });
  for (const name of ['topo-web', 'topo-db', 'topo-cache']) await run(name);
  await run('topo-none', { net: 'none' });
  await session.openWorkbench();
  await session.connect();
});

afterAll(async () => {
  await session?.close();
});

describe('Live Topology in a real VS Code', () => {
  it('"Show Topology" draws 3 bridged containers and a --net none one as the kernel has them', async () => {
    const { page } = session;
    await runCommand(page, 'Containers Lab: Show Topology');
    const all = [...records.values()];
    await waitForNodes(all.map((record) => containerNodeId(record.id)));
    await page.waitForTimeout(300); // one more frame for labels before the picture
    await screenshot(page, 'topology-01-four-containers');

    const model = await probe();
    const host = nsInode('self', 'net');
    expect(model.nodes[netnsNodeId(host)]?.kind).toBe('host');
    expect(model.nodes[linkNodeId(host, BRIDGE)]?.kind).toBe('bridge');
    for (const record of all.filter((entry) => entry.network.mode === 'bridge')) {
      const { nodes, edges } = expectedFor(record);
      for (const id of nodes) expect(model.nodes[id], `${record.name}: node ${id}`).toBeDefined();
      for (const id of edges) expect(model.edges[id], `${record.name}: edge ${id}`).toBeDefined();
      const inode = nsInode(record.pid!, 'net');
      expect(model.nodes[containerNodeId(record.id)]!.parent).toBe(netnsNodeId(inode));
      expect(model.nodes[linkNodeId(inode, 'eth0')]!.addresses).toContain(`${record.network.ip}/${record.network.prefixLength}`);
    }
    // --net none: a namespace of its own holding lo and nothing else (ip -j link inside agrees)
    const none = records.get('topo-none')!;
    const noneNetns = nsInode(none.pid!, 'net');
    expect(linkNames(none.pid!).map((link) => link.ifname)).toEqual(['lo']);
    const children = Object.values(model.nodes).filter((node) => node.parent === netnsNodeId(noneNetns)).map((node) => node.id).sort();
    expect(children).toEqual([containerNodeId(none.id), linkNodeId(noneNetns, 'lo')].sort());

    // The offscreen list mirrors the graph in the DOM.
    const { locator } = await waitForWebview(page, TOPOLOGY);
    await expect.poll(() => locator.locator(`#topology-elements li[data-id="${containerNodeId(none.id)}"]`).count()).toBe(1);
    expect(await locator.locator(`#topology-elements li[data-id="${netnsNodeId(noneNetns)}"]`).getAttribute('data-kind')).toBe('netns');
  });

  it('a 4th container appears without a reload, and a removed one disappears', async () => {
    const { page } = session;
    const { frame } = await waitForWebview(page, TOPOLOGY);
    await frame.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const fourth = await run('topo-fourth');
    const { nodes, edges } = expectedFor(fourth);
    await waitForNodes(nodes);
    await expect.poll(async () => Object.keys((await probe()).edges).filter((id) => edges.includes(id)).length, { timeout: 10_000 }).toBe(edges.length);
    expect(await frame.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await page.waitForTimeout(300);
    await screenshot(page, 'topology-02-fourth-added');

    const gone = records.get('topo-db')!;
    const goneNodes = expectedFor(gone).nodes;
    await session.agent.client.call('container.remove', { id: gone.id, force: true });
    records.delete('topo-db');
    await waitForNodes(goneNodes, false);
    expect(await frame.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await page.waitForTimeout(300);
    await screenshot(page, 'topology-03-one-removed');
  });

  it('a pod (sandbox + 2 members) is one namespace node holding its three containers, one eth0 and one veth pair', async () => {
    const { page } = session;
    await run('topo-pod-web', { pod: 'topo-pod' });
    // the second member joins the pod's network: it names no bridge of its own
    records.set('topo-pod-side', await session.agent.client.call('container.run', { name: 'topo-pod-side', pod: 'topo-pod', args: ['sleep', '600'] }));
    const sandbox = await session.agent.client.call('container.inspect', { id: 'topo-pod-pause' });
    const pod = [sandbox, records.get('topo-pod-web')!, records.get('topo-pod-side')!];
    // the kernel: one network namespace for the three, holding lo and one eth0
    const inode = nsInode(sandbox.pid!, 'net');
    for (const record of pod) expect(nsInode(record.pid!, 'net'), `${record.name}'s netns`).toBe(inode);
    expect(linkNames(sandbox.pid!).map((link) => link.ifname).sort()).toEqual(['eth0', 'lo']);
    const { nodes, edges } = expectedFor(sandbox);
    await waitForNodes([...nodes, ...pod.map((record) => containerNodeId(record.id))]);
    await expect.poll(async () => Object.keys((await probe()).edges).filter((id) => edges.includes(id)).length, { timeout: 10_000 }).toBe(edges.length);

    const model = await probe();
    const netns = netnsNodeId(inode);
    expect(model.nodes[netns]?.label).toBe('pod topo-pod');
    expect(Object.values(model.nodes).filter((node) => node.kind === 'netns' && node.netns === inode)).toHaveLength(1);
    const children = Object.values(model.nodes).filter((node) => node.parent === netns).map((node) => node.id).sort();
    expect(children).toEqual([...pod.map((record) => containerNodeId(record.id)), linkNodeId(inode, 'eth0'), linkNodeId(inode, 'lo')].sort());
    for (const record of pod) expect(model.nodes[processNodeId(record.pid!)]?.parent, `${record.name}'s process`).toBe(containerNodeId(record.id));
    const cables = Object.values(model.edges).filter((edge) => edge.kind === 'veth' && [edge.source, edge.target].some((end) => end.startsWith(`link:${inode}/`)));
    expect(cables.map((edge) => edge.id)).toEqual(edges.filter((id) => id.startsWith('veth:')));
    const { locator } = await waitForWebview(page, TOPOLOGY);
    expect(await locator.locator(`#topology-elements li[data-id="${netns}"]`).getAttribute('data-kind')).toBe('netns');
    await page.waitForTimeout(300);
    await screenshot(page, 'topology-03b-pod');
  });

  it('clicking a container\'s process selects it, and reveals its container in the Containers view; arrow keys move the selection', async () => {
    const { page } = session;
    const target = records.get('topo-web')!;
    const { frame, locator } = await waitForWebview(page, TOPOLOGY);
    const box = await frame.evaluate((id) => (window as unknown as { __topologyRendered(id: string): { x1: number; y1: number; x2: number; y2: number } | null }).__topologyRendered(id), processNodeId(target.pid!));
    expect(box).not.toBeNull();
    await locator.locator('#graph').click({ position: { x: (box!.x1 + box!.x2) / 2, y: (box!.y1 + box!.y2) / 2 } });
    await expect.poll(async () => (await probe()).selected).toBe(processNodeId(target.pid!));
    const selectedRow = viewPane(page, 'Containers').locator('.monaco-list-row[aria-selected="true"] .label-name');
    await expect.poll(async () => (await selectedRow.allInnerTexts()).map((text) => text.trim()), { timeout: 10_000 }).toContain(target.name);
    await screenshot(page, 'topology-04-revealed');

    await locator.locator('#graph').focus();
    const before = (await probe()).selected;
    await locator.locator('#graph').press('ArrowLeft');
    await expect.poll(async () => (await probe()).selected).not.toBe(before);
  });

  it('"Export Topology as SVG" writes an SVG naming the containers', async () => {
    const { page } = session;
    const file = join(session.workspace, 'topology-e2e.svg');
    await runCommand(page, 'Containers Lab: Export Topology as SVG');
    // code-server's save dialog is a quick input titled like the command, holding a path: type ours, press Enter.
    const dialog = page.locator('.quick-input-widget').filter({ has: page.locator('.quick-input-title', { hasText: 'Export Topology as SVG' }) });
    await dialog.waitFor({ state: 'visible', timeout: 30_000 });
    const input = dialog.locator('input[type="text"], .quick-input-filter input').first();
    // The dialog fills in its default path asynchronously: type ours until it stays.
    for (let stable = 0, tries = 0; stable < 3 && tries < 50; tries++) {
      if ((await input.inputValue()) !== file) {
        await input.fill(file);
        stable = 0;
      } else stable++;
      await page.waitForTimeout(150);
    }
    await input.press('Enter');
    // (the dialog may create the file before the extension writes it: wait for the whole document)
    const deadline = Date.now() + 20_000;
    while (!(existsSync(file) && readFileSync(file, 'utf8').trimEnd().endsWith('</svg>')) && Date.now() < deadline) await page.waitForTimeout(100);
    if (!existsSync(file) || !readFileSync(file, 'utf8').includes('</svg>')) await screenshot(page, 'topology-failed-export');
    const svg = existsSync(file) ? readFileSync(file, 'utf8') : '';
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    for (const name of ['topo-web', 'topo-cache', 'topo-none', 'topo-fourth', BRIDGE]) expect(svg).toContain(name);
    expect(svg).not.toContain('topo-db');
  });

  it('after a window reload the panel comes back (serializer) with the same graph', async () => {
    const { page } = session;
    const before = Object.keys((await probe()).nodes).filter((id) => /^(container|netns):/.test(id)).sort();
    await reloadWindow(page);
    const { locator } = await waitForWebview(page, TOPOLOGY, 90_000);
    // The window reload ended the extension's connection: the revived page offers to connect again.
    await locator.getByRole('button', { name: 'Connect' }).click({ timeout: 30_000 });
    await waitForNodes(before.filter((id) => id.startsWith('container:')), true, 90_000);
    const after = Object.keys((await probe()).nodes).filter((id) => /^(container|netns):/.test(id)).sort();
    expect(after).toEqual(before);
    await screenshot(page, 'topology-05-after-reload');
  });
});

/*
 * The Live Topology panel in a real VS Code (code-server + headless Chromium, the packaged .vsix,
 * the agent over loopback SSH — helpers/lab-session.ts), against real containers:
 *
 *   3 containers on a bridge of this file's own + 1 with --net none → the graph holds their
 *   namespaces, links, veth pairs and processes, checked against `ip -j` and /proc/<pid>/ns/net;
 *   a 4th container → its nodes appear without a reload; removing one → its nodes go; a pod (its
 *   sandbox + 2 members) → one namespace node "pod …" holding the three containers, one eth0 and
 *   one veth pair, as /proc/<pid>/ns/net and `ip -j` have it; a container publishing a port → a
 *   port chip with a DNAT edge, a Ports row whose "Open in Browser" opens the container's page in a
 *   new tab; a peer node (only written down) → in the graph, the Networks and the Lab view; a click on a
 *   node selects it in the sidebar; the keyboard moves the selection; "Export Topology as SVG"
 *   writes a file; a window reload brings the panel back (serializer) with the same graph.
 * - Then a crowd: 28 more containers on two more bridges of this file's own (a pod, a host-network
 *   one among them), 34 in all. Read from what cytoscape drew (window.__topologyGeometry(): its
 *   boxes, its label boxes, its edges' points, its zoom): fitted to the page, every label is at least
 *   11 px on screen and the whole graph is on the page; no two boxes overlap unless one holds the
 *   other; every label is inside its box; no cable passes through a box it does not connect.
 *   Removing ten re-packs the cards (no gaps, full columns); a user's zoom stays through changes
 *   until Fit; with every container removed, the host's box is whole on the page.
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
import { peerNodeId, portNodeId } from '../../extension/webviews/topology/model-nodes';
import { contains, inflate, overlaps, segmentCrosses, type Rect } from '../../extension/webviews/topology/view/geometry';
import { ROW_GAP } from '../../extension/webviews/topology/view/layout-columns';
import { FIT_PADDING, MAX_FIT_ZOOM } from '../../extension/webviews/topology/view/layout';
import type { DrawnTopology } from '../../extension/webviews/topology/view/drawn';
import { nsInode } from '../helpers/kernel-witness';
import { expandTreeItem, reloadWindow, runCommand, screenshot, treeRowTexts, viewPane, waitForTreeItem } from './helpers/browser';
import { clickDialogButton } from './helpers/dialogs';
import { startLabSession, type LabSession } from './helpers/lab-session';
import { waitForWebview, waitInWebview, type WebviewQuery } from './helpers/webview';

const BRIDGE = 'cltopoe0';
const SUBNET = '10.77.98.0/24';
/** The crowd's bridges. */
const CROWD = [
  { bridge: 'cltopoe1', subnet: '10.77.155.0/24' },
  { bridge: 'cltopoe2', subnet: '10.77.156.0/24' },
];
const MIN_LABEL_PX = 11;
/** A host port for a published port, and a peer node that is only written down (mode none). */
const PORT = 18197;
const PEER = { address: '10.77.189.2', subnet: '10.77.188.0/24' };
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

/** Collapses a sidebar view that is open. */
async function closePane(page: LabSession['page'], title: string): Promise<void> {
  const header = viewPane(page, title).locator('.pane-header').first();
  if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
}

/** Opens a sidebar view that is collapsed (its rows are not shown then). */
async function openPane(page: LabSession['page'], title: string): Promise<void> {
  const header = viewPane(page, title).locator('.pane-header').first();
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
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

/**
 * What cytoscape drew, read in the page. Its bounding boxes hold each box with its border, grown by
 * one more pixel on every side "to work around browser dimension inaccuracies" (cytoscape's own
 * comment): that pixel is taken off again here.
 */
async function drawn(): Promise<DrawnTopology> {
  const { frame } = await waitForWebview(session.page, TOPOLOGY);
  const view = await frame.evaluate(() => (window as unknown as { __topologyGeometry(): DrawnTopology }).__topologyGeometry());
  return { ...view, nodes: view.nodes.map((node) => ({ ...node, box: inflate(node.box, -1), label: node.label && inflate(node.label, -1) })) };
}

/** Waits until the page has drawn a frame with no diff for `quietMs` (the layout runs in the frame that applies one). */
async function settled(quietMs = 600): Promise<void> {
  await waitInWebview(session.page, TOPOLOGY, (ms) => Date.now() - ((window as unknown as { __topology?: { appliedAt: number } }).__topology?.appliedAt ?? 0) > ms, quietMs, 30_000);
}

const onScreen = (view: DrawnTopology, rect: Rect): Rect => ({ x1: rect.x1 * view.zoom + view.pan.x, y1: rect.y1 * view.zoom + view.pan.y, x2: rect.x2 * view.zoom + view.pan.x, y2: rect.y2 * view.zoom + view.pan.y });

/**
 * What the drawn picture breaks: boxes overlapping without one holding the other, labels outside
 * their box or over another box, cables through a box they do not connect, boxes off the page.
 */
function drawingProblems(view: DrawnTopology): string[] {
  const byId = new Map(view.nodes.map((node) => [node.id, node]));
  const up = new Map(
    view.nodes.map((node) => {
      const found = new Set<string>();
      for (let at = node; at.parent && byId.has(at.parent); at = byId.get(at.parent)!) found.add(at.parent);
      return [node.id, found];
    }),
  );
  const problems: string[] = [];
  const page = { x1: 0, y1: 0, x2: view.viewport.width, y2: view.viewport.height };
  for (const [index, a] of view.nodes.entries()) {
    if (!contains(page, onScreen(view, a.box), 0.5)) problems.push(`${a.id} is off the page`);
    if (a.label && !contains(a.box, a.label, 1)) problems.push(`label of ${a.id} sticks out of its box`);
    for (const b of view.nodes.slice(index + 1)) {
      if (up.get(b.id)!.has(a.id)) {
        if (!contains(a.box, b.box, 0.5)) problems.push(`${b.id} is not inside ${a.id}`);
      } else if (up.get(a.id)!.has(b.id)) {
        if (!contains(b.box, a.box, 0.5)) problems.push(`${a.id} is not inside ${b.id}`);
      } else if (overlaps(a.box, b.box)) problems.push(`${a.id} overlaps ${b.id}`);
    }
    for (const other of view.nodes) {
      if (a.label && other.id !== a.id && !up.get(a.id)!.has(other.id) && overlaps(inflate(a.label, -1), other.box)) problems.push(`label of ${a.id} is over ${other.id}`);
    }
  }
  for (const edge of view.edges) {
    const ends = new Set([edge.source, edge.target, ...(up.get(edge.source) ?? []), ...(up.get(edge.target) ?? [])]);
    for (let step = 1; step < edge.points.length; step++) {
      for (const node of view.nodes) {
        if (!ends.has(node.id) && segmentCrosses(edge.points[step - 1]!, edge.points[step]!, node.box)) problems.push(`${edge.id} crosses ${node.id}`);
      }
    }
  }
  return problems;
}

/** Fitted: the smallest label on screen, and whether the graph fills the page (or is at the largest zoom). */
function fitOf(view: DrawnTopology): { smallestLabelPx: number; fills: boolean } {
  const smallestLabelPx = Math.min(...view.nodes.filter((node) => node.label).map((node) => node.fontSize * view.zoom));
  const all = view.nodes.map((node) => onScreen(view, node.box));
  const width = Math.max(...all.map((rect) => rect.x2)) - Math.min(...all.map((rect) => rect.x1));
  const height = Math.max(...all.map((rect) => rect.y2)) - Math.min(...all.map((rect) => rect.y1));
  const fills = Math.abs(view.zoom - MAX_FIT_ZOOM) < 1e-6 || Math.max(width / (view.viewport.width - 2 * FIT_PADDING), height / (view.viewport.height - 2 * FIT_PADDING)) > 0.98;
  return { smallestLabelPx, fills };
}

/** Namespace cards by column (same left edge), top to bottom. */
function cardColumns(view: DrawnTopology): Rect[][] {
  const columns: Rect[][] = [];
  for (const card of view.nodes.filter((node) => node.kind === 'netns').map((node) => node.box).sort((a, b) => a.x1 - b.x1 || a.y1 - b.y1)) {
    const column = columns.find((candidate) => Math.abs(candidate[0]!.x1 - card.x1) < 0.5);
    if (column) column.push(card);
    else columns.push([card]);
  }
  return columns;
}

async function runCrowd(names: string[], options: (index: number) => RunOptions): Promise<void> {
  // the first on each bridge alone (it makes the bridge), then four at a time
  const first = names.slice(0, 1);
  for (const name of first) await run(name, options(0));
  for (let start = 1; start < names.length; start += 4) {
    await Promise.all(names.slice(start, start + 4).map((name, offset) => run(name, options(start + offset))));
  }
}

beforeAll(async () => {
  session = await startLabSession({ label: 'topology', bridges: [BRIDGE, ...CROWD.map((crowd) => crowd.bridge)] });
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

  it('a published port is a chip with a DNAT edge and a Ports row whose "Open in Browser" opens the container\'s page; a peer node shows in the Topology, the Networks view and the Lab view', async () => {
    const { page } = session;
    const served = await run('topo-port', {
      ports: [`${PORT}:8080`],
      args: ['sh', '-c', 'mkdir -p /tmp/www && echo topo-port-ok > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'],
    });
    const port = served.ports[0]!;
    const chip = portNodeId(served.id, port);
    // A peer in mode none: the agent writes it down and touches nothing in the kernel (no route, no rule).
    await session.agent.client.call('node.add', { name: 'topo-peer', address: PEER.address, subnet: PEER.subnet });
    try {
      await waitForNodes([chip, peerNodeId('topo-peer')]);
      const model = await probe();
      expect(model.nodes[chip]).toMatchObject({ kind: 'port', label: `0.0.0.0:${PORT}->8080/tcp`, parent: netnsNodeId(nsInode('self', 'net')) });
      expect(model.edges[`dnat:${chip}`]).toMatchObject({ kind: 'dnat', target: containerNodeId(served.id) });
      expect(model.nodes[peerNodeId('topo-peer')]).toMatchObject({ kind: 'peer', addresses: [PEER.subnet], state: 'down' });
      expect(model.nodes[peerNodeId('topo-peer')]!.detail).toBe(`${PEER.subnet} · not joined (mode none)`);
      await page.waitForTimeout(300);
      await screenshot(page, 'topology-03c-port-and-peer');

      // The Networks view's Nodes section and the Lab view's node list.
      const networksPane = viewPane(page, 'Networks');
      await openPane(page, 'Networks');
      await openPane(page, 'Lab');
      await expandTreeItem(await waitForTreeItem(networksPane, /^Nodes$/));
      await expect.poll(async () => treeRowTexts(networksPane), { timeout: 10_000 }).toContain(`topo-peer ${PEER.subnet} at ${PEER.address} · not joined`);
      // (the Lab view's list is virtualised: its last rows are in the page once it is scrolled to the end)
      const labPane = viewPane(page, 'Lab');
      await (await waitForTreeItem(labPane, /^Target$/)).click();
      await page.keyboard.press('End');
      await expect.poll(async () => treeRowTexts(labPane), { timeout: 10_000 }).toContain(`Node topo-peer ${PEER.subnet} at ${PEER.address} · not joined`);

      // The Containers tree: Ports → the row → its inline "Open in Browser".
      const containersPane = viewPane(page, 'Containers');
      // The other views closed, so the Containers list has room for topo-port's sections (it is virtualised).
      for (const title of ['Lab', 'Networks', 'Exercises']) await closePane(page, title);
      await expandTreeItem(await waitForTreeItem(containersPane, /^topo-port$/));
      await expandTreeItem(await waitForTreeItem(containersPane, /^Ports$/)).catch(async (error: unknown) => {
        await screenshot(page, 'topology-failed-ports');
        throw error;
      });
      const row = await waitForTreeItem(containersPane, `0.0.0.0:${PORT}->8080/tcp`);
      await row.hover();
      const opened = page.context().waitForEvent('page', { timeout: 30_000 });
      await row.locator('.action-label[aria-label="Open in Browser"]').click();
      // VS Code may ask before opening a link outside the workbench.
      if (await page.locator('.monaco-dialog-box').isVisible().catch(() => false)) await clickDialogButton(page, 'Open');
      const browserTab = await opened;
      await browserTab.waitForLoadState('domcontentloaded', { timeout: 30_000 });
      expect(browserTab.url()).toMatch(new RegExp(`(127\\.0\\.0\\.1:${PORT}|/proxy/${PORT})`));
      await expect.poll(async () => browserTab.locator('body').innerText().catch(() => ''), { timeout: 15_000 }).toContain('topo-port-ok');
      await browserTab.close();
    } finally {
      await session.agent.client.call('node.remove', { name: 'topo-peer' });
      await session.agent.client.call('container.remove', { id: served.id, force: true });
      records.delete('topo-port');
    }
    await waitForNodes([chip, peerNodeId('topo-peer')], false);
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

  it('with 34 containers: fitted to the page, labels ≥ 11 px, nothing overlaps, no cable crosses a box', async () => {
    const { page } = session;
    // The sidebar closed, the panel has the window's width: its graph is then about a 1280×800 page's.
    await runCommand(page, 'View: Close Primary Side Bar');
    const [first, second] = CROWD;
    await runCrowd(Array.from({ length: 14 }, (_, index) => `grid-a${String(index + 1).padStart(2, '0')}`), () => ({ bridge: first!.bridge, subnet: first!.subnet }));
    await runCrowd(Array.from({ length: 10 }, (_, index) => `grid-b${String(index + 1).padStart(2, '0')}`), () => ({ bridge: second!.bridge, subnet: second!.subnet }));
    await run('grid-pod-web', { pod: 'grid-pod', bridge: second!.bridge, subnet: second!.subnet });
    records.set('grid-pod-pause', await session.agent.client.call('container.inspect', { id: 'grid-pod-pause' }));
    await run('grid-hostnet', { net: 'host' });
    records.set('topo-pod-pause', await session.agent.client.call('container.inspect', { id: 'topo-pod-pause' }));
    const all = [...records.values()];
    expect(all.length).toBeGreaterThanOrEqual(34);
    await waitForNodes(all.map((record) => containerNodeId(record.id)), true, 90_000);
    // (a port's bridge may come with the kernel's next link list: wait for every port's line to its bridge)
    const host = nsInode('self', 'net');
    const uplinks = all.filter((record) => record.network.vethHost).map((record) => `master:${linkNodeId(host, record.network.vethHost!)}`);
    await expect
      .poll(
        async () => {
          const { edges } = await probe();
          return uplinks.filter((id) => !(id in edges));
        },
        { timeout: 20_000 },
      )
      .toEqual([]);
    await settled();
    await screenshot(page, 'topology-06-crowd');

    const view = await drawn();
    expect(view.userMoved, 'nobody zoomed: the page follows the graph').toBe(false);
    expect(view.nodes.filter((node) => node.kind === 'container')).toHaveLength(all.length);
    const { smallestLabelPx, fills } = fitOf(view);
    console.info(`topology: ${all.length} containers, smallest label ${smallestLabelPx.toFixed(2)} px at Fit on a ${view.viewport.width}×${view.viewport.height} graph`);
    expect(smallestLabelPx, `smallest label at Fit on a ${view.viewport.width}×${view.viewport.height} graph`).toBeGreaterThanOrEqual(MIN_LABEL_PX);
    expect(fills, 'the graph is fitted to the page').toBe(true);
    expect(drawingProblems(view).slice(0, 20)).toEqual([]);
    // the cables drawn are the kernel's: every bridged crowd container's eth0 has one, laid along the gutters
    for (const record of all.filter((entry) => entry.name.startsWith('grid-') && entry.network.mode === 'bridge' && entry.network.vethHost)) {
      const eth0 = linkNodeId(nsInode(record.pid!, 'net'), 'eth0');
      const cable = view.edges.find((edge) => edge.kind === 'veth' && (edge.source === eth0 || edge.target === eth0));
      expect(cable, `${record.name}'s cable`).toBeDefined();
      expect(cable!.points.length, `${record.name}'s cable bends into its card`).toBeGreaterThanOrEqual(3);
    }
  });

  it('removing ten re-packs the cards: no gaps, every column as full as it can be, a smaller picture', async () => {
    const before = await drawn();
    const gone = ['grid-a02', 'grid-a03', 'grid-a07', 'grid-a11', 'grid-a14', 'grid-b01', 'grid-b05', 'grid-b06', 'grid-b09', 'grid-hostnet'].map((name) => records.get(name)!);
    await Promise.all(gone.map((record) => session.agent.client.call('container.remove', { id: record.id, force: true })));
    for (const record of gone) records.delete(record.name);
    await waitForNodes(gone.map((record) => containerNodeId(record.id)), false);
    await settled();
    await screenshot(session.page, 'topology-07-ten-removed');

    const view = await drawn();
    expect(drawingProblems(view).slice(0, 20)).toEqual([]);
    expect(fitOf(view).smallestLabelPx).toBeGreaterThanOrEqual(MIN_LABEL_PX);
    const columns = cardColumns(view);
    const top = Math.min(...columns.map((column) => column[0]!.y1));
    for (const column of columns) {
      expect(column[0]!.y1 - top, 'every column starts at the top').toBeLessThan(0.5);
      for (let index = 1; index < column.length; index++) expect(column[index]!.y1 - column[index - 1]!.y2, 'cards stacked without a gap').toBeLessThan(ROW_GAP + 0.5);
    }
    // cards fill columns in order while they fit under the layout's limit: every column but the last
    // is filled to within one card (and a gap) of it (drawn boxes have their 1.5 px border on top)
    const tallest = Math.max(...columns.flat().map((card) => card.y2 - card.y1 - 1.5));
    for (const column of columns.slice(0, -1)) {
      const height = column[column.length - 1]!.y2 - column[0]!.y1 - 1.5;
      expect(height + ROW_GAP + tallest, 'no room left in a column for another card').toBeGreaterThan(view.layout!.columnLimit);
    }
    const area = (bounds: Rect): number => (bounds.x2 - bounds.x1) * (bounds.y2 - bounds.y1);
    expect(area(view.layout!.bounds)).toBeLessThan(area(before.layout!.bounds));
  });

  it('a user\'s zoom stays while containers come and go, until Fit lays out and fits again', async () => {
    const { page } = session;
    const { locator } = await waitForWebview(page, TOPOLOGY);
    const fitted = await drawn();
    const graphBox = (await locator.locator('#graph').boundingBox())!;
    await page.mouse.move(graphBox.x + graphBox.width / 2, graphBox.y + graphBox.height / 2);
    await page.mouse.wheel(0, -400);
    await expect.poll(async () => (await drawn()).userMoved).toBe(true);
    const zoomed = await drawn();
    expect(zoomed.zoom).toBeGreaterThan(fitted.zoom);

    await run('grid-late', { bridge: CROWD[0]!.bridge, subnet: CROWD[0]!.subnet });
    await waitForNodes([containerNodeId(records.get('grid-late')!.id)]);
    await settled();
    const kept = await drawn();
    expect(kept.zoom, 'the user\'s zoom is kept').toBeCloseTo(zoomed.zoom, 6);
    expect(kept.pan).toEqual(zoomed.pan);

    await locator.getByRole('button', { name: 'Fit' }).click();
    await expect.poll(async () => (await drawn()).userMoved).toBe(false);
    const refitted = await drawn();
    expect(fitOf(refitted).fills).toBe(true);
    expect(fitOf(refitted).smallestLabelPx).toBeGreaterThanOrEqual(MIN_LABEL_PX);
    expect(drawingProblems(refitted).slice(0, 20)).toEqual([]);
  });

  it('with every container removed, the host\'s box is whole and inside the page', async () => {
    // a pod's sandbox goes last: it holds the pod's namespace for its members
    const summaries = await session.containers();
    for (const summary of [...summaries].sort((a, b) => Number(a.name.endsWith('-pause')) - Number(b.name.endsWith('-pause')))) {
      // (a pod's sandbox may already have gone with its last member)
      await session.agent.client.call('container.remove', { id: summary.id, force: true }).catch((error: unknown) => {
        if (!/no container named/.test(String(error))) throw error;
      });
    }
    expect(await session.containers()).toEqual([]);
    const ids = [...records.values()].map((record) => containerNodeId(record.id));
    records.clear();
    await waitForNodes(ids, false, 60_000);
    await settled();
    await screenshot(session.page, 'topology-08-empty');
    const view = await drawn();
    expect(view.nodes.filter((node) => node.kind === 'container' || node.kind === 'netns')).toEqual([]);
    const host = view.nodes.find((node) => node.kind === 'host')!;
    const box = onScreen(view, host.box);
    expect(box.x1, `host box ${JSON.stringify(box)} on a ${view.viewport.width}×${view.viewport.height} page`).toBeGreaterThanOrEqual(0);
    expect(contains({ x1: 0, y1: 0, x2: view.viewport.width, y2: view.viewport.height }, box)).toBe(true);
    expect(drawingProblems(view)).toEqual([]);
  });
});

/*
 * The Live Topology's layout (extension/webviews/topology/view/layout.ts), a pure function: given
 * a graph and the page's size, every node's box and every edge's way. Graphs are made the way the
 * panel makes them — TopologyInputs (the host's links and container records) through the model's
 * own buildGraph and apply* functions — for 1, 5 and 33 containers on several bridges, with a pod,
 * host-network and --net none containers and ports of containers this lab does not draw.
 *
 * What a learner was promised, checked on every one:
 * - no two boxes overlap unless one holds the other, and every label sits inside its own box, clear
 *   of every other box;
 * - no cable or bridge line passes through a box other than its ends and the boxes holding them;
 * - fitted to a 1280×800 page, every label is at least 11 px tall, and the whole graph is on it;
 * - removing containers re-packs: cards stacked without gaps, and each column as full as it can be;
 * - with no containers at all, the host's box is whole and inside the page.
 * Text widths come from the estimate for DejaVu Sans (the font a bare Debian host draws with).
 */
import { describe, expect, it } from 'vitest';
import type { LinkRecord } from '../agent/protocol';
import { contains, overlaps, segmentCrosses, type Rect } from '../extension/webviews/topology/view/geometry';
import { FONT_SIZE } from '../extension/webviews/topology/view/labels';
import { ROW_GAP } from '../extension/webviews/topology/view/layout-columns';
import { fitViewport, layoutTopology, type Size, type TopologyLayout } from '../extension/webviews/topology/view/layout';
import { applyContainerRemoved, applyLinkChange, buildGraph, containerNodeId, linkNodeId, netnsNodeId, type ContainerView, type TopologyGraph, type TopologyInputs } from '../extension/webviews/topology/model';

/**
 * The graph's part of a 1280×800 webview: the page's 12 px side padding, its one-row toolbar and
 * the graph's 1 px border taken off — as Chromium lays out style.css (measured: 1256×765).
 */
const PAGE: Size = { width: 1256, height: 765 };
const MIN_LABEL_PX = 11;
const HOST_NETNS = 4026531840;

// --- worlds: inputs as the panel gets them from host.snapshot and container records -----------------

interface BridgeSpec {
  name: string;
  /** Third octet of its 10.77.x.0/24. */
  subnet: number;
  containers: number;
  /** Members (besides the sandbox) of each pod on this bridge. */
  pods?: number[];
  /** Ports of containers of someone else's (no namespace drawn for them). */
  foreignPorts?: number;
}

interface WorldSpec {
  bridges: BridgeSpec[];
  hostNetwork?: number;
  none?: number;
}

/** A lab host with the containers the spec asks for, deterministic (same spec, same ids). */
function world(spec: WorldSpec): TopologyInputs {
  let seed = 12345;
  const hex = (length: number): string => {
    let text = '';
    while (text.length < length) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      text += (seed >>> 8).toString(16).padStart(6, '0');
    }
    return text.slice(0, length);
  };
  let ifindex = 10;
  let inode = 4026532000;
  let pid = 20000;
  const links: LinkRecord[] = [
    { ifindex: 1, name: 'lo', kind: 'loopback', mac: null, mtu: 65536, up: true, netns: HOST_NETNS, addresses: ['127.0.0.1/8', '::1/128'], master: null, peer: null },
    { ifindex: 2, name: 'eth0', kind: 'device', mac: '02:fc:00:00:00:01', mtu: 1500, up: true, netns: HOST_NETNS, addresses: ['10.0.2.15/24', 'fe80::fc:ff:fe00:1/64'], master: null, peer: null },
  ];
  const containers: ContainerView[] = [];
  const process = (command = 'sleep 600'): ContainerView['processes'][number] => ({ pid: ++pid, nspid: 1, ppid: 1, command, state: 'S' });
  /** A namespace of its own wired to `bridge` by a veth pair; returns its inode and address. */
  const wired = (bridge: BridgeSpec, host: number): { netns: number; ip: string; vethHost: string } => {
    const netns = ++inode;
    const vethHost = `veth${hex(11)}`;
    const hostIndex = ++ifindex;
    const ip = `10.77.${bridge.subnet}.${2 + (netns % 250)}`;
    links.push(
      { ifindex: hostIndex, name: vethHost, kind: 'veth', mac: null, mtu: 1500, up: true, netns: HOST_NETNS, addresses: [], master: bridge.name, peer: { ifindex: 2, netns } },
      { ifindex: 1, name: 'lo', kind: 'loopback', mac: null, mtu: 65536, up: true, netns, addresses: ['127.0.0.1/8', '::1/128'], master: null, peer: null },
      { ifindex: 2, name: 'eth0', kind: 'veth', mac: null, mtu: 1500, up: true, netns, addresses: [`${ip}/24`, 'fe80::1/64'], master: null, peer: { ifindex: hostIndex, netns: host } },
    );
    return { netns, ip, vethHost };
  };
  const bridged = (name: string, bridge: BridgeSpec, pod: ContainerView['pod'] = null): ContainerView => {
    const { netns, ip, vethHost } = wired(bridge, HOST_NETNS);
    const first = process();
    return { id: hex(32), name, status: 'running', pid: first.pid, netns, network: { mode: 'bridge', ifname: 'eth0', ip, prefixLength: 24, gateway: `10.77.${bridge.subnet}.1`, mac: null, vethHost, bridge: bridge.name }, processes: [first], pod };
  };
  const noNetwork = { ifname: null, ip: null, prefixLength: null, gateway: null, mac: null, vethHost: null, bridge: null };
  for (const bridge of spec.bridges) {
    links.push({ ifindex: ++ifindex, name: bridge.name, kind: 'bridge', mac: null, mtu: 1500, up: true, netns: HOST_NETNS, addresses: [`10.77.${bridge.subnet}.1/24`], master: null, peer: null });
    for (let index = 1; index <= bridge.containers; index++) containers.push(bridged(`${bridge.name}-c${String(index).padStart(2, '0')}`, bridge));
    for (const [podIndex, members] of (bridge.pods ?? []).entries()) {
      const name = `${bridge.name}-pod${podIndex + 1}`;
      const sandbox = bridged(`${name}-pause`, bridge, { name, sandbox: true });
      sandbox.processes = [{ ...sandbox.processes[0]!, command: 'pause' }];
      containers.push(sandbox);
      for (let member = 1; member <= members; member++) {
        const first = process(member === 1 ? 'nginx: master process' : 'sleep 600');
        containers.push({ id: hex(32), name: `${name}-m${member}`, status: 'running', pid: first.pid, netns: sandbox.netns, network: { mode: 'bridge', ...noNetwork }, processes: [first, ...(member === 1 ? [process('nginx: worker process')] : [])], pod: { name, sandbox: false } });
      }
    }
    for (let index = 0; index < (bridge.foreignPorts ?? 0); index++) {
      links.push({ ifindex: ++ifindex, name: `veth${hex(11)}`, kind: 'veth', mac: null, mtu: 1500, up: true, netns: HOST_NETNS, addresses: [], master: bridge.name, peer: { ifindex: 2, netns: 99 + index } });
    }
  }
  for (let index = 1; index <= (spec.hostNetwork ?? 0); index++) {
    const first = process();
    containers.push({ id: hex(32), name: `hostnet-${index}`, status: 'running', pid: first.pid, netns: HOST_NETNS, network: { mode: 'host', ...noNetwork }, processes: [first], pod: null });
  }
  for (let index = 1; index <= (spec.none ?? 0); index++) {
    const netns = ++inode;
    links.push({ ifindex: 1, name: 'lo', kind: 'loopback', mac: null, mtu: 65536, up: true, netns, addresses: ['127.0.0.1/8', '::1/128'], master: null, peer: null });
    const first = process();
    containers.push({ id: hex(32), name: `isolated-${index}`, status: 'running', pid: first.pid, netns, network: { mode: 'none', ...noNetwork }, processes: [first], pod: null });
  }
  return { hostNetns: HOST_NETNS, links, containers };
}

/** The inputs after `names` were removed, the way the panel sees it: the host end goes, then the record. */
function without(inputs: TopologyInputs, names: string[]): TopologyInputs {
  let next = inputs;
  for (const name of names) {
    const container = next.containers.find((candidate) => candidate.name === name)!;
    const hostEnd = next.links.find((link) => link.netns === HOST_NETNS && link.name === container.network.vethHost);
    if (hostEnd) next = applyLinkChange(next, 'removed', hostEnd);
    next = applyContainerRemoved(next, container.id);
  }
  return next;
}

// --- what every layout must hold ---------------------------------------------------------------------

function ancestors(graph: TopologyGraph, id: string): Set<string> {
  const found = new Set<string>();
  for (let node = graph.nodes.get(id); node?.parent; node = graph.nodes.get(node.parent)) found.add(node.parent);
  return found;
}

function labelRect(layout: TopologyLayout, id: string): Rect {
  const { text, textCentre } = layout.boxes.get(id)!;
  return { x1: textCentre.x - text.width / 2, y1: textCentre.y - text.height / 2, x2: textCentre.x + text.width / 2, y2: textCentre.y + text.height / 2 };
}

function expectReadable(graph: TopologyGraph, page: Size = PAGE, straight: string[] = []): TopologyLayout {
  const layout = layoutTopology(graph, { viewport: page });
  const ids = [...graph.nodes.keys()];
  expect(ids.filter((id) => !layout.boxes.has(id)), 'nodes without a box').toEqual([]);
  const up = new Map(ids.map((id) => [id, ancestors(graph, id)]));

  const problems: string[] = [];
  for (const [index, a] of ids.entries()) {
    const boxA = layout.boxes.get(a)!.rect;
    const label = labelRect(layout, a);
    if (!contains(boxA, label)) problems.push(`label of ${a} sticks out of its box`);
    for (const b of ids.slice(index + 1)) {
      const boxB = layout.boxes.get(b)!.rect;
      if (up.get(b)!.has(a)) {
        if (!contains(boxA, boxB)) problems.push(`${b} is not inside ${a}`);
      } else if (up.get(a)!.has(b)) {
        if (!contains(boxB, boxA)) problems.push(`${a} is not inside ${b}`);
      } else if (overlaps(boxA, boxB)) problems.push(`${a} overlaps ${b}`);
    }
    for (const other of ids) {
      if (other !== a && !up.get(a)!.has(other) && overlaps(label, layout.boxes.get(other)!.rect)) problems.push(`label of ${a} overlaps ${other}`);
    }
  }
  for (const edge of graph.edges.values()) {
    const route = layout.routes.get(edge.id);
    if (!route) {
      problems.push(`edge ${edge.id} has no way`);
      continue;
    }
    if (straight.includes(edge.id)) {
      if (route.routed) problems.push(`edge ${edge.id} was expected outside the pattern`);
      continue;
    }
    if (!route.routed) problems.push(`edge ${edge.id} is drawn straight, outside the pattern`);
    const ends = new Set([edge.source, edge.target, ...up.get(edge.source)!, ...up.get(edge.target)!]);
    const [first, last] = [route.points[0]!, route.points[route.points.length - 1]!];
    if (!contains(layout.boxes.get(edge.source)!.rect, { x1: first.x, y1: first.y, x2: first.x, y2: first.y }, 0.01)) problems.push(`${edge.id} does not start at its source`);
    if (!contains(layout.boxes.get(edge.target)!.rect, { x1: last.x, y1: last.y, x2: last.x, y2: last.y }, 0.01)) problems.push(`${edge.id} does not end at its target`);
    for (let step = 1; step < route.points.length; step++) {
      for (const id of ids) {
        if (!ends.has(id) && segmentCrosses(route.points[step - 1]!, route.points[step]!, layout.boxes.get(id)!.rect)) problems.push(`${edge.id} crosses ${id}`);
      }
    }
  }
  expect(problems.slice(0, 20)).toEqual([]);

  // Fitted to the page: every label ≥ 11 px, the whole graph inside.
  const { zoom, pan } = fitViewport(layout.bounds, page);
  expect(zoom * FONT_SIZE, `label size at Fit (columns up to ${layout.columnLimit})`).toBeGreaterThanOrEqual(MIN_LABEL_PX);
  const onScreen = { x1: layout.bounds.x1 * zoom + pan.x, y1: layout.bounds.y1 * zoom + pan.y, x2: layout.bounds.x2 * zoom + pan.x, y2: layout.bounds.y2 * zoom + pan.y };
  expect(contains({ x1: 0, y1: 0, x2: page.width, y2: page.height }, onScreen, 0.01), `graph ${JSON.stringify(onScreen)} on the page`).toBe(true);
  return layout;
}

/** Cards (namespace boxes) by column: same left edge. */
function columnsOf(graph: TopologyGraph, layout: TopologyLayout): Rect[][] {
  const cards = [...graph.nodes.values()].filter((node) => node.kind === 'netns').map((node) => layout.boxes.get(node.id)!.rect);
  const columns = new Map<number, Rect[]>();
  for (const card of cards) columns.set(card.x1, [...(columns.get(card.x1) ?? []), card]);
  return [...columns.entries()].sort(([a], [b]) => a - b).map(([, column]) => column.sort((a, b) => a.y1 - b.y1));
}

const MANY: WorldSpec = {
  bridges: [
    { name: 'cl0', subnet: 155, containers: 12 },
    { name: 'clfront', subnet: 156, containers: 10 },
    { name: 'clback', subnet: 157, containers: 5, pods: [2] },
    // another runtime's bridge on the same host (docker0-like): its ports lead to no namespace drawn
    { name: 'docker0', subnet: 154, containers: 0, foreignPorts: 3 },
  ],
  hostNetwork: 2,
  none: 1,
};

describe('the topology layout', () => {
  it('1 container: readable, nothing overlaps or is crossed, the whole graph on the page', () => {
    expectReadable(buildGraph(world({ bridges: [{ name: 'cl0', subnet: 155, containers: 1 }] })));
  });

  it('5 containers on two bridges (one with ports of containers not drawn), one host-network and one --net none', () => {
    const graph = buildGraph(world({ bridges: [{ name: 'cl0', subnet: 155, containers: 3, foreignPorts: 2 }, { name: 'clother', subnet: 156, containers: 2 }], hostNetwork: 1, none: 1 }));
    expectReadable(graph);
  });

  it('33 containers on three bridges, with a pod, host-network and --net none ones: labels ≥ 11 px at Fit on a 1280×800 page', () => {
    const graph = buildGraph(world(MANY));
    const containers = [...graph.nodes.values()].filter((node) => node.kind === 'container');
    expect(containers.length).toBeGreaterThanOrEqual(30);
    const layout = expectReadable(graph);
    // the pod is one box holding its three containers
    const pod = [...graph.nodes.values()].find((node) => node.label === 'pod clback-pod1')!;
    const members = containers.filter((node) => node.parent === pod.id);
    expect(members).toHaveLength(3);
    for (const member of members) expect(contains(layout.boxes.get(pod.id)!.rect, layout.boxes.get(member.id)!.rect)).toBe(true);
  });

  it('40 containers on one bridge still fit readably; a tall page gets longer columns than a wide one', () => {
    const graph = buildGraph(world({ bridges: [{ name: 'cl0', subnet: 158, containers: 40 }] }));
    const wide = expectReadable(graph, { width: 1600, height: 700 });
    const tall = layoutTopology(graph, { viewport: { width: 700, height: 1600 } });
    expect(tall.columnLimit).toBeGreaterThan(wide.columnLimit);
  });

  it('removing containers re-packs: no gaps, full columns, a smaller picture', () => {
    const inputs = world(MANY);
    const before = layoutTopology(buildGraph(inputs), { viewport: PAGE });
    const gone = ['cl0-c02', 'cl0-c05', 'cl0-c06', 'cl0-c11', 'clfront-c01', 'clfront-c07', 'clback-c03', 'hostnet-1'];
    const graph = buildGraph(without(inputs, gone));
    for (const name of gone) expect([...graph.nodes.values()].some((node) => node.label === name)).toBe(false);
    const after = expectReadable(graph);
    expect((after.bounds.x2 - after.bounds.x1) * (after.bounds.y2 - after.bounds.y1)).toBeLessThan((before.bounds.x2 - before.bounds.x1) * (before.bounds.y2 - before.bounds.y1));

    const columns = columnsOf(graph, after);
    const top = Math.min(...columns.map((column) => column[0]!.y1));
    for (const column of columns) {
      expect(column[0]!.y1, 'every column starts at the top').toBe(top);
      const gaps = column.slice(1).map((card, index) => card.y1 - column[index]!.y2);
      expect(new Set(gaps).size, `even gaps in a column: ${gaps.join(', ')}`).toBeLessThanOrEqual(1);
    }
    // full columns: cards fill columns in order, a column taking the next card while it fits under the
    // limit — so every column but the last is filled to within one card (and a gap) of the limit
    const tallest = Math.max(...columns.flat().map((card) => card.y2 - card.y1));
    for (const column of columns.slice(0, -1)) {
      expect(column[column.length - 1]!.y2 - column[0]!.y1 + ROW_GAP + tallest, 'no room left for another card').toBeGreaterThan(after.columnLimit);
    }
  });

  it('removing every container leaves the host box whole and inside the page, on a small page too', () => {
    const inputs = world(MANY);
    const empty = without(inputs, inputs.containers.map((container) => container.name));
    const graph = buildGraph(empty);
    expect([...graph.nodes.values()].filter((node) => node.kind === 'container' || node.kind === 'netns')).toEqual([]);
    for (const page of [PAGE, { width: 420, height: 300 }]) {
      const layout = layoutTopology(graph, { viewport: page });
      const host = layout.boxes.get(netnsNodeId(HOST_NETNS))!.rect;
      const { zoom, pan } = fitViewport(layout.bounds, page);
      const onScreen = { x1: host.x1 * zoom + pan.x, y1: host.y1 * zoom + pan.y, x2: host.x2 * zoom + pan.x, y2: host.y2 * zoom + pan.y };
      expect(contains({ x1: 0, y1: 0, x2: page.width, y2: page.height }, onScreen), `host box ${JSON.stringify(onScreen)} on a ${page.width}×${page.height} page`).toBe(true);
      expect(onScreen.x1).toBeGreaterThan(0);
    }
    expectReadable(graph);
  });

  it('a veth pair a learner made between two containers is drawn straight (outside the pattern); the rest keeps its guarantees', () => {
    const inputs = world({ bridges: [{ name: 'cl0', subnet: 159, containers: 3 }] });
    const [a, b] = inputs.containers;
    inputs.links.push(
      { ifindex: 7, name: 'to-b', kind: 'veth', mac: null, mtu: 1500, up: true, netns: a!.netns!, addresses: ['192.168.9.1/30'], master: null, peer: { ifindex: 8, netns: b!.netns! } },
      { ifindex: 8, name: 'to-a', kind: 'veth', mac: null, mtu: 1500, up: true, netns: b!.netns!, addresses: ['192.168.9.2/30'], master: null, peer: { ifindex: 7, netns: a!.netns! } },
    );
    const graph = buildGraph(inputs);
    const pair = [...graph.edges.values()].find((edge) => edge.source.endsWith('/to-a') || edge.source.endsWith('/to-b'))!;
    expect(pair.kind).toBe('veth');
    const layout = expectReadable(graph, PAGE, [pair.id]);
    expect(layout.routes.get(pair.id)!.routed).toBe(false);
  });

  it('each cable runs from its port down to its own container’s eth0, and each port line up to its bridge', () => {
    const inputs = world({ bridges: [{ name: 'cl0', subnet: 159, containers: 7 }] });
    const graph = buildGraph(inputs);
    const layout = expectReadable(graph);
    const bridge = layout.boxes.get(linkNodeId(HOST_NETNS, 'cl0'))!.rect;
    for (const container of inputs.containers) {
      const eth0 = linkNodeId(container.netns!, 'eth0');
      const port = linkNodeId(HOST_NETNS, container.network.vethHost!);
      const cable = [...graph.edges.values()].find((edge) => edge.kind === 'veth' && [edge.source, edge.target].includes(eth0))!;
      expect([cable.source, cable.target].sort()).toEqual([eth0, port].sort());
      const points = layout.routes.get(cable.id)!.points;
      // every segment is horizontal or vertical
      for (let step = 1; step < points.length; step++) expect(points[step]!.x === points[step - 1]!.x || points[step]!.y === points[step - 1]!.y).toBe(true);
      const uplink = layout.routes.get(`master:${port}`)!.points;
      expect(uplink[uplink.length - 1]!.y).toBe(bridge.y2);
      expect(layout.boxes.get(containerNodeId(container.id))).toBeDefined();
    }
  });
});

/*
 * The Live Topology page: a cytoscape graph of network namespaces, links, veth pairs, containers
 * and processes, changed only by the diffs the extension sends (../live-topology.ts).
 *
 * - Diffs arriving in bursts are applied once per animation frame, inside one cy.batch(), so 100
 *   containers starting at once cost a few redraws, not hundreds.
 * - New leaf nodes get a position from StableLayout (./layout.ts); existing ones never move.
 * - Keyboard: Tab reaches the graph; arrow keys move the selection to the nearest node in that
 *   direction; Enter reveals the selected node in the sidebar; Home selects the host; 0 fits.
 * - An offscreen list mirrors every element (for screen readers, and for tests: data-* attributes),
 *   and window.__topology exposes the same model to the e2e tests and the benchmark.
 */
import cytoscape from 'cytoscape';
import { h, loadPageState, onExtensionMessage, postToExtension, readInitialState, savePageState } from '../../shared/view/vscode-api';
import type { DiffTiming, ExportFormat, FromPage, ToPage, TopologyState } from '../messages';
import type { TopologyDiff, TopologyEdgeData, TopologyNodeData } from '../model';
import { pinBackgrounding } from './cytoscape-fixes';
import { StableLayout } from './layout';
import { topologySvg, type SvgBox, type SvgEdge } from './svg-export';
import { readColours, watchTheme, type GraphColours } from './theme';

interface TopologyProbe {
  nodes: Record<string, TopologyNodeData>;
  edges: Record<string, TopologyEdgeData>;
  selected: string | null;
  /** Date.now() when the last diff was drawn, and how many diffs so far. */
  appliedAt: number;
  applied: number;
  status: string;
  /** For each node added by a diff: the diff's way from agent notification to drawn (Date.now() readings). */
  timings: Record<string, NodeTiming>;
}

interface NodeTiming extends Partial<DiffTiming> {
  /** The page got the message. */
  receivedAt: number;
  /** The animation-frame callback that put it into the graph returned (cytoscape draws it in that frame). */
  appliedAt: number;
  /** The next frame began: the one with the node has been painted. */
  paintedAt?: number;
}

declare global {
  interface Window {
    __topology: TopologyProbe;
    /** Where a node is drawn in the graph's box (tests click there): its box without labels. */
    __topologyRendered(id: string): { x1: number; y1: number; x2: number; y2: number } | null;
  }
}

const state: TopologyState = loadPageState<TopologyState>() ?? readInitialState<TopologyState>() ?? {};
const layout = new StableLayout(state.layout);
const savedPositions = state.positions ?? {};
const probe: TopologyProbe = { nodes: {}, edges: {}, selected: null, appliedAt: 0, applied: 0, status: '', timings: {} };
window.__topology = probe;

// --- the page ------------------------------------------------------------------------------------

const status = h('span', { class: 'status muted', role: 'status', 'aria-live': 'polite' });
const selection = h('span', { class: 'selection', 'aria-live': 'polite' });
const connectButton = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Connect');
const fitButton = h('button', { type: 'button', class: 'secondary', title: 'Fit the whole graph (0)' }, 'Fit');
const svgButton = h('button', { type: 'button', class: 'secondary' }, 'Export SVG…');
const pngButton = h('button', { type: 'button', class: 'secondary' }, 'Export PNG…');
const graph = h('div', {
  id: 'graph',
  tabindex: 0,
  role: 'application',
  'aria-label': 'Network topology. Arrow keys move between nodes, Enter reveals the selected node in the sidebar, 0 fits the graph.',
  'aria-describedby': 'topology-help',
});
const help = h('p', { id: 'topology-help', class: 'visually-hidden' }, 'The list after the graph names every node and link.');
const list = h('ul', { id: 'topology-elements', class: 'visually-hidden', 'aria-label': 'Topology elements' });
const legend = h(
  'div',
  { class: 'legend muted' },
  ...(['host', 'netns', 'container', 'process', 'bridge', 'veth'] as const).map((kind) => h('span', { class: `key key-${kind}` }, kind === 'netns' ? 'network namespace' : kind === 'veth' ? 'veth / link' : kind)),
);
document.getElementById('app')!.append(h('header', { class: 'toolbar' }, h('h1', {}, 'Live Topology'), status, connectButton, h('span', { class: 'spacer' }), selection, fitButton, svgButton, pngButton), legend, graph, help, list);

/** Back to front: the host's box, namespace boxes, container boxes, cables, then everything inside. */
const Z_ORDER = { host: 0, netns: 1, container: 2, edge: 3, leaf: 4 } as const;

let colours: GraphColours = readColours();
const cy = cytoscape({
  container: graph,
  elements: [],
  layout: { name: 'preset' },
  style: styles(colours),
  minZoom: 0.1,
  maxZoom: 3,
  boxSelectionEnabled: false,
  selectionType: 'single',
  // With a hundred namespaces on screen, drawing is the cost: one device pixel per CSS pixel, and
  // while panning or zooming a cached bitmap instead of every label.
  pixelRatio: 1,
  textureOnViewport: true,
  // the container div owns keyboard focus; cytoscape's own key handling is not used
});

window.__topologyRendered = (id) => {
  const element = cy.getElementById(id);
  return element.empty() ? null : element.renderedBoundingBox({ includeLabels: false, includeOverlays: false });
};

watchTheme(() => {
  colours = readColours();
  cy.style(styles(colours));
});

function styles(c: GraphColours): cytoscape.StylesheetJson {
  return [
    {
      selector: 'node',
      style: {
        label: 'data(text)',
        'text-wrap': 'wrap',
        'text-valign': 'center',
        'text-halign': 'center',
        'font-family': c.font,
        'font-size': 13,
        color: c.foreground,
        'background-color': c.background,
        'border-width': 1.5,
        'border-color': c.veth,
        shape: 'round-rectangle',
        width: 124,
        height: 44,
        // Text too small to read at this zoom is not drawn (zoom in, or read the list view).
        'min-zoomed-font-size': 6,
        // Drawing order by z-index alone (see Z_ORDER): cytoscape's own compound ordering walks
        // every element's ancestors on each comparison of its sort, hundreds of ms per change
        // with 100 namespaces.
        'z-compound-depth': 'orphan',
        'z-index-compare': 'manual',
        'z-index': Z_ORDER.leaf,
      },
    },
    { selector: 'node[kind = "bridge"]', style: { 'border-color': c.bridge, 'border-width': 3, shape: 'round-rectangle' } },
    { selector: 'node[kind = "loopback"], node[kind = "device"]', style: { 'border-style': 'dotted' } },
    { selector: 'node[state = "down"]', style: { 'border-color': c.down } },
    { selector: 'node[kind = "process"]', style: { 'border-color': c.process, shape: 'round-rectangle', width: 136, height: 34, 'font-size': 12 } },
    {
      selector: ':parent',
      style: {
        'text-valign': 'top',
        'text-halign': 'center',
        'text-margin-y': -4,
        'font-weight': 'bold',
        'background-opacity': 0.06,
        padding: '18px',
        'border-width': 1.5,
      },
    },
    { selector: 'node[kind = "host"]', style: { 'border-color': c.host, 'background-color': c.host, 'z-index': Z_ORDER.host } },
    { selector: 'node[kind = "netns"]', style: { 'border-color': c.netns, 'background-color': c.netns, 'border-style': 'dashed', 'z-index': Z_ORDER.netns } },
    { selector: 'node[kind = "container"]', style: { 'border-color': c.container, 'background-color': c.container, 'z-index': Z_ORDER.container } },
    { selector: 'node[kind = "container"][state != "running"]', style: { 'border-style': 'dashed' } },
    {
      selector: 'edge',
      style: { width: 1.5, 'curve-style': 'bezier', 'line-color': c.bridge, 'line-style': 'dashed', 'z-compound-depth': 'orphan', 'z-index-compare': 'manual', 'z-index': Z_ORDER.edge },
    },
    { selector: 'edge[kind = "veth"]', style: { width: 3, 'line-color': c.veth, 'line-style': 'solid' } },
    { selector: ':selected', style: { 'border-color': c.focus, 'border-width': 4, 'overlay-color': c.focus, 'overlay-opacity': 0.12 } },
    { selector: 'edge:selected', style: { 'line-color': c.focus } },
  ];
}

// --- applying diffs, once per frame --------------------------------------------------------------

const queued: { diff: TopologyDiff; reset: boolean; timing: DiffTiming | undefined; receivedAt: number }[] = [];
let frameRequested = false;
const items = new Map<string, HTMLLIElement>();

function enqueue(diff: TopologyDiff, reset: boolean, timing: DiffTiming | undefined): void {
  queued.push({ diff, reset, timing, receivedAt: Date.now() });
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    const batch = queued.splice(0);
    const wasEmpty = cy.nodes().empty();
    const added = batch.flatMap(({ diff }) => diff.add.nodes.map((node) => node.id));
    cy.batch(() => {
      for (const { diff, reset: isReset } of batch) apply(diff, isReset);
    });
    // Nodes never move, but the view follows new ones until the user pans or zooms it themselves.
    // Only a leaf placed for good counts: a provisional one moves next to its neighbour in a
    // moment, and a compound node is where its children are. A fit changes the zoom, and at a new
    // zoom cytoscape redraws every element's cached picture — with 100 containers, for seconds.
    const outside = added.some((id) => {
      const element = cy.getElementById(id);
      return element.nonempty() && element.isChildless() && !layout.isProvisional(id) && !isVisible(id);
    });
    if (!wasEmpty && !viewportMovedByUser && outside) fitAll();
    probe.appliedAt = Date.now();
    probe.applied += batch.length;
    const timings = batch.flatMap(({ diff, timing, receivedAt }) => diff.add.nodes.map((node): NodeTiming => (probe.timings[node.id] = { ...timing, receivedAt, appliedAt: probe.appliedAt })));
    requestAnimationFrame(() => {
      const paintedAt = Date.now();
      for (const timing of timings) timing.paintedAt = paintedAt;
    });
    if (wasEmpty && cy.nodes().nonempty()) fitAll();
    applyFocus();
    scheduleSave();
  });
}

function apply(diff: TopologyDiff, reset: boolean): void {
  if (reset) {
    cy.elements().remove();
    for (const id of Object.keys(probe.nodes)) forgetNode(id);
    probe.edges = {};
    for (const item of items.values()) item.remove();
    items.clear();
  }
  for (const id of diff.remove) {
    const element = cy.getElementById(id);
    if (element.nonempty()) element.remove();
    if (probe.nodes[id]) forgetNode(id);
    delete probe.edges[id];
    items.get(id)?.remove();
    items.delete(id);
  }
  for (const node of diff.add.nodes) {
    probe.nodes[node.id] = node;
    const position = savedPositions[node.id] ?? layout.place(node, placementContext);
    pinBackgrounding(cy.add({ group: 'nodes', data: { ...node, text: textOf(node) }, position }));
    mirror(node.id, node.kind, describeNode(node), { parent: node.parent ?? '' });
  }
  for (const edge of diff.add.edges) {
    probe.edges[edge.id] = edge;
    if (cy.getElementById(edge.source).empty() || cy.getElementById(edge.target).empty()) continue;
    cy.add({ group: 'edges', data: { ...edge } });
    mirror(edge.id, edge.kind, `${edge.label || edge.kind}: ${labelOf(edge.source)} ↔ ${labelOf(edge.target)}`, { source: edge.source, target: edge.target });
    // A veth end drawn before its container was known moves next to it now, once.
    for (const end of [edge.source, edge.target]) {
      if (!layout.isProvisional(end)) continue;
      const data = probe.nodes[end];
      if (data) cy.getElementById(end).position(layout.place(data, placementContext));
    }
  }
  for (const node of diff.update.nodes) {
    probe.nodes[node.id] = node;
    cy.getElementById(node.id).data({ ...node, text: textOf(node) });
    mirror(node.id, node.kind, describeNode(node), { parent: node.parent ?? '' });
  }
  for (const edge of diff.update.edges) {
    probe.edges[edge.id] = edge;
    cy.getElementById(edge.id).data({ ...edge });
  }
}

function forgetNode(id: string): void {
  delete probe.nodes[id];
  delete probe.timings[id];
  delete savedPositions[id];
  layout.forget(id);
  if (probe.selected === id) probe.selected = null;
}

const placementContext = {
  node: (id: string) => probe.nodes[id],
  hostNetnsId: '',
  /** The namespace cell of the node at the other end of `id`'s veth pair, if it is in a container namespace. */
  neighbourCell(id: string): number | null {
    for (const edge of Object.values(probe.edges)) {
      if (edge.kind !== 'veth' || (edge.source !== id && edge.target !== id)) continue;
      const other = probe.nodes[edge.source === id ? edge.target : edge.source];
      const home = other?.parent ? probe.nodes[other.parent] : undefined;
      if (home?.kind === 'netns') return layout.cellOf(home.id);
    }
    return null;
  },
};
Object.defineProperty(placementContext, 'hostNetnsId', { get: () => Object.values(probe.nodes).find((node) => node.kind === 'host')?.id ?? '' });

function textOf(node: TopologyNodeData): string {
  if (node.kind === 'host' || node.kind === 'netns') return `${node.label}  ${node.detail}`;
  // Two lines: a pod sandbox's status line is as wide as two boxes.
  if (node.kind === 'container') return `${node.label}\n${node.detail}`;
  // Link-local IPv6 (fe80::) addresses are on every link and say little: the list and SVG keep them.
  const addresses = node.addresses.filter((address) => !address.startsWith('fe80:'));
  const detail = addresses.length > 0 ? addresses.join('\n') : node.kind === 'process' ? node.detail.replace(/ · .*/, '') : '';
  // A long command line (a shell's trap loop) would spill over its neighbours: the box shows its start.
  const label = node.kind === 'process' ? clip(node.label, 22) : node.label;
  return detail ? `${label}\n${detail}` : label;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function labelOf(id: string): string {
  return probe.nodes[id]?.label ?? id;
}

function describeNode(node: TopologyNodeData): string {
  const where = node.parent ? ` in ${labelOf(node.parent)}` : '';
  return `${node.kind} ${node.label}${node.detail ? ` — ${node.detail}` : ''}${where}`;
}

/** The offscreen list: one item per element, with data-* for tests and text for screen readers. */
function mirror(id: string, kind: string, text: string, extra: Record<string, string>): void {
  let item = items.get(id);
  if (!item) {
    item = h('li', {});
    items.set(id, item);
    list.append(item);
  }
  item.dataset.id = id;
  item.dataset.kind = kind;
  for (const [key, value] of Object.entries(extra)) item.dataset[key] = value;
  item.textContent = text;
}

let viewportMovedByUser = false;
let fitting = false;
function fitAll(): void {
  fitting = true;
  cy.fit(undefined, 30);
  fitting = false;
}
cy.on('viewport', () => {
  if (!fitting) viewportMovedByUser = true;
});

// --- selection, keyboard, reveal -----------------------------------------------------------------

function select(id: string | null, options: { center?: boolean } = {}): void {
  cy.elements(':selected').unselect();
  probe.selected = id;
  if (!id) {
    selection.textContent = '';
    return;
  }
  const element = cy.getElementById(id);
  if (element.empty()) return;
  element.select();
  const data = probe.nodes[id];
  selection.textContent = data ? describeNode(data) : id;
  if (options.center) {
    fitting = true;
    cy.center(element);
    fitting = false;
  }
}

function reveal(id: string): void {
  const data = probe.nodes[id];
  if (data) post({ type: 'reveal', target: data.reveal, label: data.label });
}

cy.on('tap', 'node', (event) => {
  const id = (event.target as cytoscape.NodeSingular).id();
  select(id);
  reveal(id);
});
cy.on('tap', (event) => {
  if (event.target === cy) select(null);
});
cy.on('dragfree', 'node', (event) => {
  const node = event.target as cytoscape.NodeSingular;
  savedPositions[node.id()] = { ...node.position() };
  scheduleSave();
});

const DIRECTIONS: Record<string, [number, number]> = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] };

graph.addEventListener('keydown', (event) => {
  const direction = DIRECTIONS[event.key];
  if (direction) {
    event.preventDefault();
    const next = nearestInDirection(probe.selected, direction);
    if (next) select(next, { center: !isVisible(next) });
  } else if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    if (probe.selected) reveal(probe.selected);
  } else if (event.key === 'Home') {
    event.preventDefault();
    select(placementContext.hostNetnsId || null);
  } else if (event.key === '0') {
    fitAll();
    viewportMovedByUser = false;
  } else if (event.key === 'Escape') {
    select(null);
  }
});
graph.addEventListener('focus', () => {
  if (!probe.selected) select(placementContext.hostNetnsId || cy.nodes().first().id() || null);
});

function isVisible(id: string): boolean {
  const box = cy.getElementById(id).renderedBoundingBox();
  return box.x1 >= 0 && box.y1 >= 0 && box.x2 <= cy.width() && box.y2 <= cy.height();
}

/** The closest node whose centre lies within 60° of the direction pressed. */
function nearestInDirection(from: string | null, [dx, dy]: [number, number]): string | null {
  const nodes = cy.nodes();
  if (!from || cy.getElementById(from).empty()) return nodes.first().id() ?? null;
  const origin = cy.getElementById(from).position();
  let best: { id: string; score: number } | null = null;
  nodes.forEach((node) => {
    if (node.id() === from) return;
    const { x, y } = node.position();
    const vx = x - origin.x;
    const vy = y - origin.y;
    const distance = Math.hypot(vx, vy);
    if (distance < 1) return;
    const along = (vx * dx + vy * dy) / distance;
    if (along < 0.5) return;
    const score = distance * (2 - along);
    if (!best || score < best.score) best = { id: node.id(), score };
  });
  return (best as { id: string } | null)?.id ?? null;
}

function applyFocus(): void {
  if (!state.focus || cy.getElementById(state.focus).empty()) return;
  const id = state.focus;
  state.focus = undefined;
  select(id, { center: true });
  graph.focus();
}

// --- export -------------------------------------------------------------------------------------

function svgDocument(): string {
  const depth = (node: cytoscape.NodeSingular): number => node.ancestors().length;
  const nodes = cy.nodes().toArray() as cytoscape.NodeSingular[];
  const boxes: SvgBox[] = nodes
    .sort((a, b) => depth(a) - depth(b))
    .map((node) => {
      const box = node.boundingBox({ includeLabels: false, includeOverlays: false });
      const data = probe.nodes[node.id()];
      const detail = data ? (data.addresses.length > 0 ? data.addresses.join(' ') : data.kind === 'process' || data.kind === 'container' || data.kind === 'host' || data.kind === 'netns' ? data.detail : '') : '';
      return { id: node.id(), kind: String(node.data('kind')), x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2, label: data?.label ?? node.id(), detail, compound: node.isParent() };
    });
  const edges: SvgEdge[] = cy.edges().map((edge) => {
    const source = edge.sourceEndpoint();
    const target = edge.targetEndpoint();
    return { kind: String(edge.data('kind')), x1: source.x, y1: source.y, x2: target.x, y2: target.y };
  });
  return topologySvg(boxes, edges, colours);
}

function exportPicture(format: ExportFormat): void {
  try {
    const data = format === 'svg' ? svgDocument() : (cy.png({ output: 'base64', full: true, scale: 2, bg: colours.background }) as unknown as string);
    post({ type: 'exported', format, data });
  } catch (error) {
    post({ type: 'exportFailed', format, message: error instanceof Error ? error.message : String(error) });
  }
}

// --- state and messages -------------------------------------------------------------------------

let saveTimer: number | undefined;
function scheduleSave(): void {
  if (saveTimer !== undefined) return;
  saveTimer = window.setTimeout(() => {
    saveTimer = undefined;
    const positions: Record<string, { x: number; y: number }> = {};
    cy.nodes().forEach((node) => {
      if (!node.isParent()) positions[node.id()] = { ...node.position() };
    });
    Object.assign(savedPositions, positions);
    savePageState<TopologyState>({ focus: state.focus, positions, layout: layout.save() });
  }, 500);
}

function post(message: FromPage): void {
  postToExtension(message);
}

fitButton.addEventListener('click', () => {
  fitAll();
  viewportMovedByUser = false;
});
svgButton.addEventListener('click', () => post({ type: 'requestExport', format: 'svg' }));
pngButton.addEventListener('click', () => post({ type: 'requestExport', format: 'png' }));
connectButton.addEventListener('click', () => post({ type: 'connect' }));

onExtensionMessage<ToPage>((message) => {
  switch (message.type) {
    case 'diff':
      enqueue(message.diff, message.reset === true, message.timing);
      break;
    case 'status':
      probe.status = message.text;
      status.textContent = message.text;
      connectButton.hidden = !/not connected/i.test(message.text);
      break;
    case 'focus':
      state.focus = message.node;
      applyFocus();
      break;
    case 'export':
      exportPicture(message.format);
      break;
  }
});

post({ type: 'ready' });

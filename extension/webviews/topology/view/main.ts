/*
 * The Live Topology page: a cytoscape graph of network namespaces, links, veth pairs, containers
 * and processes, changed only by the diffs the extension sends (../live-topology.ts).
 *
 * - Diffs arriving in bursts are applied once per animation frame, inside one cy.batch(), so 100
 *   containers starting at once cost a few redraws, not hundreds.
 * - After each change the whole graph is laid out again (./layout.ts, a pure function of the graph
 *   and the page's size) and what moved is moved (./draw-layout.ts): removed containers leave no
 *   gap, and nothing overlaps or is crossed by a cable. Nodes cannot be dragged: the layout owns
 *   where they are.
 * - The view is fitted to the page on opening and after every change (and when the page is
 *   resized) — until the user zooms or pans; then their view stays, until they press Fit (or 0),
 *   which lays out and fits again.
 * - Keyboard: Tab reaches the graph; arrow keys move the selection to the nearest node in that
 *   direction; Enter reveals the selected node in the sidebar; Home selects the host; 0 fits.
 * - An offscreen list mirrors every element (for screen readers, and for tests: data-* attributes),
 *   and window.__topology exposes the same model to the e2e tests and the benchmark;
 *   window.__topologyGeometry() what is drawn (boxes, text, cables, zoom) to the e2e tests.
 */
import cytoscape from 'cytoscape';
import { h, loadPageState, onExtensionMessage, postToExtension, readInitialState, savePageState } from '../../shared/view/vscode-api';
import type { DiffTiming, ExportFormat, FromPage, ToPage, TopologyState } from '../messages';
import type { TopologyDiff, TopologyEdgeData, TopologyNodeData } from '../model';
import { pinBackgrounding } from './cytoscape-fixes';
import { drawLayout, NO_BOX, NO_ROUTE } from './draw-layout';
import { drawnTopology, type DrawnTopology } from './drawn';
import { DIRECTIONS, nearestInDirection } from './keyboard';
import { graphStyle } from './graph-style';
import { FONT_SIZE } from './labels';
import { fitViewport, layoutTopology, type TopologyLayout } from './layout';
import { layoutSvg } from './svg-export';
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
    __topologyGeometry(): DrawnTopology;
  }
}

const state: TopologyState = loadPageState<TopologyState>() ?? readInitialState<TopologyState>() ?? {};
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
  'span',
  { class: 'legend muted' },
  ...(['host', 'netns', 'container', 'process', 'bridge', 'veth'] as const).map((kind) => h('span', { class: `key key-${kind}` }, kind === 'netns' ? 'network namespace' : kind === 'veth' ? 'veth / link' : kind)),
);
document
  .getElementById('app')!
  .append(
    // One row (the legend, the selection and the buttons beside the title), so the graph keeps the page's height.
    h('header', { class: 'toolbar' }, h('h1', {}, 'Live Topology'), legend, status, selection, connectButton, fitButton, svgButton, pngButton),
    graph,
    help,
    list,
  );

let colours: GraphColours = readColours();
const cy = cytoscape({
  container: graph,
  elements: [],
  layout: { name: 'preset' },
  style: graphStyle(colours),
  minZoom: 0.1,
  maxZoom: 3,
  boxSelectionEnabled: false,
  selectionType: 'single',
  // The layout owns where everything is: nodes are not dragged.
  autoungrabify: true,
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
  textWidths.clear();
  cy.style(graphStyle(colours));
  relayout();
});

// --- layout and fit ---------------------------------------------------------------------------------

/** Text widths as the canvas draws them in the graph's font (the layout sizes boxes to them). */
const textWidths = new Map<string, number>();
const measureContext = document.createElement('canvas').getContext('2d');
function measure(text: string, bold: boolean): number {
  const key = `${bold ? 'b' : 'n'}${text}`;
  let width = textWidths.get(key);
  if (width === undefined) {
    if (measureContext) measureContext.font = `${bold ? 'bold ' : ''}${FONT_SIZE}px ${colours.font}`;
    width = measureContext ? measureContext.measureText(text).width : text.length * FONT_SIZE * 0.65;
    textWidths.set(key, width);
  }
  return width;
}

let current: TopologyLayout | null = null;
/** The user zoomed or panned: their view stays until Fit. */
let viewportMovedByUser = false;
/** The viewport is being changed by this page (a fit, centring on a node), not by the user. */
let fitting = false;

const pageSize = (): { width: number; height: number } => ({ width: cy.width(), height: cy.height() });

/** Lays the whole graph out for the page's size, moves what moved; fits unless the user moved the view. */
function relayout(): void {
  current = layoutTopology({ nodes: Object.values(probe.nodes), edges: Object.values(probe.edges) }, { viewport: pageSize(), measure });
  const layout = current;
  cy.batch(() => drawLayout(cy, layout));
  if (!viewportMovedByUser) fitAll();
}

function fitAll(): void {
  if (!current || cy.nodes().empty()) return;
  const { zoom, pan } = fitViewport(current.bounds, pageSize());
  if (Math.abs(cy.zoom() - zoom) < 1e-9 && Math.abs(cy.pan().x - pan.x) < 1e-6 && Math.abs(cy.pan().y - pan.y) < 1e-6) return;
  fitting = true;
  cy.viewport({ zoom, pan });
  fitting = false;
}

cy.on('viewport', () => {
  if (!fitting) viewportMovedByUser = true;
});

/** "Fit" (and the 0 key): lay out for the page as it is now, and show all of it. */
function fitToPage(): void {
  viewportMovedByUser = false;
  cy.resize();
  relayout();
}

// The panel resized (or the editor split): lay out for the new shape, once it settles.
let resizeTimer: number | undefined;
new ResizeObserver(() => {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    cy.resize();
    if (cy.nodes().nonempty()) relayout();
  }, 100);
}).observe(graph);

window.__topologyGeometry = () => drawnTopology(cy, current, viewportMovedByUser);

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
    cy.batch(() => {
      for (const { diff, reset: isReset } of batch) apply(diff, isReset);
    });
    relayout();
    probe.appliedAt = Date.now();
    probe.applied += batch.length;
    const timings = batch.flatMap(({ diff, timing, receivedAt }) => diff.add.nodes.map((node): NodeTiming => (probe.timings[node.id] = { ...timing, receivedAt, appliedAt: probe.appliedAt })));
    requestAnimationFrame(() => {
      const paintedAt = Date.now();
      for (const timing of timings) timing.paintedAt = paintedAt;
    });
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
    // No cytoscape parent: every box is placed and sized by the layout (see ./graph-style.ts).
    pinBackgrounding(cy.add({ group: 'nodes', data: { ...flat(node), ...NO_BOX }, position: { x: 0, y: 0 } }));
    mirror(node.id, node.kind, describeNode(node), { parent: node.parent ?? '' });
  }
  for (const edge of diff.add.edges) {
    probe.edges[edge.id] = edge;
    if (cy.getElementById(edge.source).empty() || cy.getElementById(edge.target).empty()) continue;
    cy.add({ group: 'edges', data: { ...edge, ...NO_ROUTE } });
    mirror(edge.id, edge.kind, `${edge.label || edge.kind}: ${labelOf(edge.source)} ↔ ${labelOf(edge.target)}`, { source: edge.source, target: edge.target });
  }
  for (const node of diff.update.nodes) {
    probe.nodes[node.id] = node;
    cy.getElementById(node.id).data(flat(node));
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
  if (probe.selected === id) probe.selected = null;
}

/** A node's data for cytoscape: its parent kept as `home`, since a cytoscape parent would make it a compound node. */
function flat(node: TopologyNodeData): Omit<TopologyNodeData, 'parent'> & { home: string } {
  const { parent, ...rest } = node;
  return { ...rest, home: parent ?? '' };
}

const hostNodeId = (): string => Object.values(probe.nodes).find((node) => node.kind === 'host')?.id ?? '';

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

graph.addEventListener('keydown', (event) => {
  const direction = DIRECTIONS[event.key];
  if (direction) {
    event.preventDefault();
    const next = nearestInDirection(cy, probe.selected, direction);
    if (next) select(next, { center: !isVisible(next) });
  } else if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    if (probe.selected) reveal(probe.selected);
  } else if (event.key === 'Home') {
    event.preventDefault();
    select(hostNodeId() || null);
  } else if (event.key === '0') {
    fitToPage();
  } else if (event.key === 'Escape') {
    select(null);
  }
});
graph.addEventListener('focus', () => {
  if (!probe.selected) select(hostNodeId() || cy.nodes().first().id() || null);
});

function isVisible(id: string): boolean {
  const box = cy.getElementById(id).renderedBoundingBox();
  return box.x1 >= 0 && box.y1 >= 0 && box.x2 <= cy.width() && box.y2 <= cy.height();
}


function applyFocus(): void {
  if (!state.focus || cy.getElementById(state.focus).empty()) return;
  const id = state.focus;
  state.focus = undefined;
  select(id, { center: true });
  graph.focus();
}

// --- export -------------------------------------------------------------------------------------

function exportPicture(format: ExportFormat): void {
  try {
    const data = format === 'svg' ? layoutSvg(current, probe.nodes, probe.edges, colours) : (cy.png({ output: 'base64', full: true, scale: 2, bg: colours.background }) as unknown as string);
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
    savePageState<TopologyState>({ focus: state.focus });
  }, 500);
}

function post(message: FromPage): void {
  postToExtension(message);
}

fitButton.addEventListener('click', () => fitToPage());
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

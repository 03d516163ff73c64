/*
 * Where everything in the topology goes: a pure function of the graph and the page's size,
 * computed again after every change — so a removed container leaves no gap, and the picture is
 * the same however the graph got here.
 *
 *   ┌ host network namespace · net:[4026531840]  [eth0 10.0.2.15/24] [lo]  ┌ hostnet-1 [sleep…] ┐ ┐
 *   │ ┌ cl0 · bridge 10.77.0.1/24 ───────────────────┐ ┌ cl1 · bridge 10.77.1.1/24 ───────┐    │  a bar per bridge
 *   │ [veth…c]┊                [veth…f]┊             ┊                                       │  over its ports
 *   │  [veth…b]┊                [veth…e]┊   [veth…g]┊                                      │  (┊: port → bridge)
 *   │   [veth…a]┊                [veth…d]┊                                                  │  stairs of ports,
 *   └───│││─────────────────────────│││─────────────────────────────────────────────────────┘  one per column
 *       │││ ┌ net:[…] ─────────┐    ││└─┌ net:[…] ──────────┐   each cable runs down its column's
 *       ││└─┤[eth0 …] [lo]     │    ││  │[eth0 …] [lo]      │   gutter and turns right into its
 *       ││  │┌ a [sleep…·pid 1]┐│    ││  │┌ g …             ┐│   card, at the link it comes to
 *       ││  └──────────────────┘    │└──┤ card f (cl0)…        (a column takes the next bridge's
 *       │└──┤ card b …               └───┤ card e (cl0)…         first cards on top of its last)
 *       └───┤ card c …
 *
 * Why nothing crosses, by construction:
 * - Cards come bridge by bridge (./layout-plan.ts) and fill columns top to bottom up to a height
 *   limit, each column with a gutter on its left; where one bridge's cards end and the next's
 *   begin in one column, the later bridge's are on top (./layout-columns.ts). Cards that need no
 *   bar (no cable, or a port on no bridge) come last.
 * - Port k of a column (k = 0 for the top card's cable) sits k levels up a staircase that steps
 *   at least STAIR_STEP to the left per level. Its cable leaves the port's bottom LANE_INSET from
 *   its left edge and goes straight down: every lower port starts further right, so nothing is in
 *   the way; in the gutter, the cables of lower cards run further left, so the one turning right
 *   into its card passes none still going down. Its line up to the bridge leaves LANE_INSET from
 *   the port's right edge: every higher port ends further left. The bars sit right above the
 *   stairs, each over its own bridge's lines (the stairs step wider between two bridges' ports).
 * - Inside a card, each cabled link is the first of its row, at the card's left edge.
 * - A bridge none of whose ports leads to a namespace drawn (docker0) is drawn with its ports as
 *   one piece in the host's rows, where no cable passes.
 * Edges outside this pattern (a veth pair between two containers, a second cable to a namespace
 * from another bridge) are drawn straight and marked `routed: false`.
 *
 * The columns' height limit is chosen so that the whole picture, fitted to the page (fitViewport),
 * is drawn as large as it can be: tall pages get long columns, wide pages many.
 * No DOM here: the page (./main.ts) measures text with a canvas, the unit tests estimate it.
 */
import type { TopologyEdgeData, TopologyNodeData } from '../model';
import { union, type Point, type Rect } from './geometry';
import { estimateTextWidth, type MeasureText } from './labels';
import { arrange, ROW_GAP } from './layout-columns';
import { BAR_GAP, BOX_PAD, CHIP_GAP, GAP, HEADER_HEIGHT, LANE_INSET, Sizer, shift, shiftLines, type Piece, type Placed, type PlacedText } from './layout-parts';
import { plan as planLayout, type Plan } from './layout-plan';

export interface Size {
  width: number;
  height: number;
}

/** A node's box, and its text (lines, size, centre), in model coordinates. */
export interface NodeBox {
  rect: Rect;
  text: PlacedText;
  textCentre: Point;
}

/** An edge as drawn: from a point on its source's box to a point on its target's box. */
export interface EdgeRoute {
  points: Point[];
  /** Laid along the gutters (false: a straight line between the centres, outside the pattern). */
  routed: boolean;
}

export interface TopologyLayout {
  boxes: Map<string, NodeBox>;
  routes: Map<string, EdgeRoute>;
  bounds: Rect;
  /** How tall a column of cards may be (model units), as chosen for the page: a column holds as
   *  many cards as fit under it (a taller card stands alone). */
  columnLimit: number;
}

/** The model's graph (maps by id), or its nodes and edges as lists (the page keeps records). */
export interface TopologyGraphLike {
  nodes: ReadonlyMap<string, TopologyNodeData> | Iterable<TopologyNodeData>;
  edges: ReadonlyMap<string, TopologyEdgeData> | Iterable<TopologyEdgeData>;
}

const valuesOf = <T>(items: ReadonlyMap<string, T> | Iterable<T>): T[] => (items instanceof Map ? [...(items as ReadonlyMap<string, T>).values()] : [...(items as Iterable<T>)]);

export interface LayoutOptions {
  /** The graph's part of the page, in CSS pixels. */
  viewport: Size;
  measure?: MeasureText;
}

/** Space left around the graph when it is fitted to the page (CSS pixels). */
export const FIT_PADDING = 10;
/** A small graph is not blown up beyond this. */
export const MAX_FIT_ZOOM = 1.5;

/** Between the host's box and the cards: the cables' way out. */
const HOST_GAP = 8;
const LEVEL_GAP = 2;
const MAX_CANDIDATES = 60;

interface Packed {
  placed: Placed[];
  /** port id → its cable's way to the link it comes to (and which link that is) */
  cables: Map<string, { link: string; points: Point[] }>;
  /** port id → its line up to its bridge's bar */
  uplinks: Map<string, Point[]>;
  bounds: Rect;
}

/**
 * The host's links and containers in rows under `innerWidth`, the first row right of the host's
 * header; returns the rows' bottom and the first row's height (the header is centred on it).
 */
function placeFlow(plan: Plan, innerWidth: number, placed: Placed[], uplinks: Packed['uplinks']): { bottom: number; firstRow: number } {
  const rows: { pieces: Piece[]; start: number }[] = [{ pieces: [], start: plan.hostText!.width + 2 * CHIP_GAP }];
  let x = rows[0]!.start;
  for (const piece of plan.flow) {
    if (x + piece.width > innerWidth && (x > rows[rows.length - 1]!.start || rows.length === 1)) rows.push({ pieces: [], start: (x = 0) });
    rows[rows.length - 1]!.pieces.push(piece);
    x += piece.width + CHIP_GAP;
  }
  let y = BOX_PAD;
  let firstRow = HEADER_HEIGHT;
  rows.forEach((row, index) => {
    const height = Math.max(index === 0 ? HEADER_HEIGHT : 0, ...row.pieces.map((piece) => piece.height));
    if (index === 0) firstRow = height;
    let left = row.start;
    for (const piece of row.pieces) {
      placed.push(...shift(piece.placed, left, y));
      for (const line of shiftLines(piece, left, y)) uplinks.set(line.port, line.points);
      left += piece.width + CHIP_GAP;
    }
    y += height + GAP;
  });
  return { bottom: y - GAP, firstRow };
}

/**
 * Everything placed, with columns no taller than `limit` — or, `sizeOnly`, just the bounds
 * (the same, without placing each card: the cheap way to compare column heights).
 */
function pack(plan: Plan, limit: number, aspect: number, sizer: Sizer, sizeOnly = false): Packed {
  const placed: Placed[] = [];
  const cables: Packed['cables'] = new Map();
  const uplinks: Packed['uplinks'] = new Map();
  if (!plan.host || !plan.hostText) return { placed, cables, uplinks, bounds: { x1: 0, y1: 0, x2: 0, y2: 0 } };
  const pitch = plan.port.height + LEVEL_GAP;
  const grid = arrange(plan, limit, plan.port.width, (group) => sizer.bar(plan.groups[group]!.bridge, 0).width);

  // The host's box: header and its links and containers in rows, the bars, the stairs of ports.
  const flowWidths = plan.flow.reduce((sum, piece) => sum + piece.width + CHIP_GAP, plan.hostText.width + 2 * CHIP_GAP);
  const flowArea = plan.flow.reduce((sum, piece) => sum + (piece.width + CHIP_GAP) * (piece.height + GAP), 0);
  const innerWidth = Math.max(grid.width, plan.hostText.width, ...plan.flow.map((piece) => piece.width), Math.min(flowWidths, Math.sqrt(flowArea * aspect)));
  const hostPlaced: Placed[] = [];
  const flow = placeFlow(plan, innerWidth, hostPlaced, uplinks);
  let y = flow.bottom;
  if (grid.bars.size > 0 || grid.levels > 0) y += GAP + 2;
  const barBottom = new Map<number, number>();
  for (const [group, bar] of grid.bars) {
    const piece = sizer.bar(plan.groups[group]!.bridge, bar.x2 - bar.x1);
    hostPlaced.push(...shift(piece.placed, bar.x1, y));
    barBottom.set(group, y + piece.height);
  }
  if (grid.bars.size > 0) y = Math.max(...barBottom.values()) + BAR_GAP;
  const bandBottom = y + (grid.levels > 0 ? grid.levels * pitch - LEVEL_GAP : 0);
  const hostRect: Rect = { x1: -BOX_PAD, y1: 0, x2: innerWidth + BOX_PAD, y2: bandBottom + BOX_PAD };
  placed.push({ id: plan.host.id, rect: hostRect, text: plan.hostText, textCentre: { x: hostRect.x1 + BOX_PAD + plan.hostText.width / 2, y: BOX_PAD + flow.firstRow / 2 } }, ...hostPlaced);

  // The cards under their column's gutter, and the ports up the stairs above it.
  const gridTop = hostRect.y2 + HOST_GAP;
  if (sizeOnly) {
    const bottom = Math.max(hostRect.y2, ...grid.columns.filter((column) => column.cards.length > 0).map((column) => gridTop + column.height));
    return { placed, cables, uplinks, bounds: { x1: hostRect.x1, y1: 0, x2: hostRect.x2, y2: bottom } };
  }
  for (const column of grid.columns) {
    const cardX = column.x + column.gutter;
    const entries = new Map<string, Point>();
    let top = gridTop;
    for (const slot of column.cards) {
      placed.push(...shift(slot.card.placed, cardX, top));
      for (const entry of slot.card.entries) entries.set(entry.link, { x: cardX + entry.x, y: top + entry.y });
      top += slot.card.height + ROW_GAP;
    }
    column.levels.forEach((level, index) => {
      const x1 = column.x + column.offsets[index]!;
      const y2 = bandBottom - index * pitch;
      const rect = { x1, y1: y2 - plan.port.height, x2: x1 + plan.port.width, y2 };
      placed.push({ id: level.port, rect, text: sizer.text(plan.ports.get(level.port)!), textCentre: { x: (rect.x1 + rect.x2) / 2, y: (rect.y1 + rect.y2) / 2 } });
      const entry = level.link ? entries.get(level.link) : undefined;
      if (level.link && entry) {
        const laneX = x1 + LANE_INSET;
        cables.set(level.port, { link: level.link, points: [{ x: laneX, y: y2 }, { x: laneX, y: entry.y }, entry] });
      }
      const bridge = plan.groups[level.group]?.bridge;
      if (bridge && plan.masterOf.get(level.port) === bridge.id) uplinks.set(level.port, [{ x: rect.x2 - LANE_INSET, y: rect.y1 }, { x: rect.x2 - LANE_INSET, y: barBottom.get(level.group)! }]);
    });
  }
  return { placed, cables, uplinks, bounds: union(placed.map((item) => item.rect))! };
}

/** The zoom and pan that show `bounds` whole and centred in `viewport` (never above MAX_FIT_ZOOM). */
export function fitViewport(bounds: Rect, viewport: Size): { zoom: number; pan: Point } {
  const width = Math.max(1, bounds.x2 - bounds.x1);
  const height = Math.max(1, bounds.y2 - bounds.y1);
  const zoom = Math.max(0.05, Math.min(MAX_FIT_ZOOM, (viewport.width - 2 * FIT_PADDING) / width, (viewport.height - 2 * FIT_PADDING) / height));
  return { zoom, pan: { x: viewport.width / 2 - (zoom * (bounds.x1 + bounds.x2)) / 2, y: viewport.height / 2 - (zoom * (bounds.y1 + bounds.y2)) / 2 } };
}

export function layoutTopology(graph: TopologyGraphLike, options: LayoutOptions): TopologyLayout {
  const nodes = new Map(valuesOf(graph.nodes).map((node) => [node.id, node]));
  const edges = valuesOf(graph.edges);
  const sizer = new Sizer(options.measure ?? estimateTextWidth);
  const planned = planLayout(nodes, edges, sizer);
  const aspect = Math.max(0.2, options.viewport.width / Math.max(1, options.viewport.height));

  // Columns as tall as draws the whole largest on this page: tall pages get long columns, wide pages many.
  const cards = [...planned.groups.flatMap((group) => group.slots), ...planned.fillers].map((slot) => slot.card.height);
  const step = Math.min(...cards, Infinity) + ROW_GAP;
  const limits = cards.length === 0 ? [0] : Array.from({ length: Math.min(MAX_CANDIDATES, cards.length) }, (_, index) => (index + 1) * step - ROW_GAP);
  let best: { zoom: number; limit: number } | null = null;
  let tallSince = 0;
  for (const limit of limits) {
    const { bounds } = pack(planned, limit, aspect, sizer, true);
    const { zoom } = fitViewport(bounds, options.viewport);
    if (!best || zoom > best.zoom + 1e-9) best = { zoom, limit };
    // Once the picture is too tall for the page, longer columns only make it taller: stop looking.
    const tall = (bounds.y2 - bounds.y1) / options.viewport.height > (bounds.x2 - bounds.x1) / options.viewport.width;
    tallSince = tall ? tallSince + 1 : 0;
    if (tallSince >= 8 && zoom < best.zoom) break;
  }
  const { limit } = best!;
  const packed = pack(planned, limit, aspect, sizer);

  const boxes = new Map<string, NodeBox>(packed.placed.map((item) => [item.id, { rect: item.rect, text: item.text, textCentre: item.textCentre }]));
  // Whatever had no place (a node whose parent is not in the graph) goes in a row below.
  let strayX = packed.bounds.x1;
  const strayY = packed.bounds.y2 + HOST_GAP;
  for (const node of nodes.values()) {
    if (boxes.has(node.id)) continue;
    const [chip] = sizer.chip(node).placed;
    const [item] = shift([chip!], strayX, strayY);
    boxes.set(node.id, { rect: item!.rect, text: item!.text, textCentre: item!.textCentre });
    strayX = item!.rect.x2 + CHIP_GAP;
  }

  const routes = new Map<string, EdgeRoute>();
  for (const edge of edges) {
    const route = routeOf(edge, packed, planned.masterOf);
    if (route) routes.set(edge.id, { points: route, routed: true });
    else if (boxes.has(edge.source) && boxes.has(edge.target)) routes.set(edge.id, { points: [centre(boxes.get(edge.source)!.rect), centre(boxes.get(edge.target)!.rect)], routed: false });
  }
  return { boxes, routes, bounds: union([...boxes.values()].map((box) => box.rect)) ?? { x1: 0, y1: 0, x2: 0, y2: 0 }, columnLimit: limit };
}

const centre = (rect: Rect): Point => ({ x: (rect.x1 + rect.x2) / 2, y: (rect.y1 + rect.y2) / 2 });

/** The laid-out way of a cable or a port's line to its bridge, from the edge's source to its target. */
function routeOf(edge: TopologyEdgeData, packed: Packed, masterOf: Map<string, string>): Point[] | null {
  if (edge.kind === 'master') return masterOf.get(edge.source) === edge.target ? (packed.uplinks.get(edge.source) ?? null) : null;
  for (const [port, link, forward] of [[edge.source, edge.target, true], [edge.target, edge.source, false]] as const) {
    const cable = packed.cables.get(port);
    if (cable?.link === link) return forward ? cable.points : [...cable.points].reverse();
  }
  return null;
}

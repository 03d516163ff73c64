/*
 * Puts a computed layout (./layout.ts) on the cytoscape graph: each node's box and text (as the
 * data ./graph-style.ts maps), each edge's way. Only what changed is touched — with a hundred
 * containers, re-setting every element would restyle them all on each change.
 */
import type cytoscape from 'cytoscape';
import type { Point } from './geometry';
import type { EdgeRoute, NodeBox, TopologyLayout } from './layout';

/** What a node carries for its box (see ./graph-style.ts). */
export interface BoxData {
  w: number;
  h: number;
  lx: number;
  ly: number;
  text: string;
}

/** What an edge carries for its way. */
export interface RouteData {
  routed: boolean;
  sep: string;
  tep: string;
  ws: number[];
  ds: number[];
}

/** Before the first layout: a box of nothing (cytoscape's mappers need the fields to exist). */
export const NO_BOX: BoxData = { w: 1, h: 1, lx: 0, ly: 0, text: '' };
export const NO_ROUTE: RouteData = { routed: false, sep: '0px 0px', tep: '0px 0px', ws: [0.5], ds: [0] };

export function boxData(box: NodeBox): { data: BoxData; position: Point } {
  const position = { x: (box.rect.x1 + box.rect.x2) / 2, y: (box.rect.y1 + box.rect.y2) / 2 };
  return {
    position,
    data: { w: box.rect.x2 - box.rect.x1, h: box.rect.y2 - box.rect.y1, lx: box.textCentre.x - position.x, ly: box.textCentre.y - position.y, text: box.text.lines.join('\n') },
  };
}

/**
 * A route as cytoscape's segments: its ends as offsets from the end nodes' centres, each bend as a
 * weight along the start→end line and a distance from it (cytoscape adds distance × the line's
 * normal (−dy, dx)/length to the point at that weight).
 */
export function routeData(route: EdgeRoute, source: Point, target: Point): RouteData {
  if (!route.routed || route.points.length < 2) return NO_ROUTE;
  const start = route.points[0]!;
  const end = route.points[route.points.length - 1]!;
  const dx = end.x - start.x;
  const dy = end.y - start.y;
  const length2 = dx * dx + dy * dy;
  const bends = route.points.slice(1, -1);
  const ws = length2 === 0 ? [0.5] : bends.length === 0 ? [0.5] : bends.map((point) => ((point.x - start.x) * dx + (point.y - start.y) * dy) / length2);
  const ds = length2 === 0 ? [0] : bends.length === 0 ? [0] : bends.map((point) => ((point.x - start.x) * -dy + (point.y - start.y) * dx) / Math.sqrt(length2));
  const offset = (point: Point, centre: Point): string => `${point.x - centre.x}px ${point.y - centre.y}px`;
  return { routed: true, sep: offset(start, source), tep: offset(end, target), ws, ds };
}

const sameNumbers = (a: unknown, b: number[]): boolean => Array.isArray(a) && a.length === b.length && a.every((value, index) => Math.abs((value as number) - b[index]!) < 1e-6);

/** Moves and resizes what the layout changed; call inside cy.batch(). */
export function drawLayout(cy: cytoscape.Core, layout: TopologyLayout): void {
  for (const [id, box] of layout.boxes) {
    const node = cy.getElementById(id);
    if (node.empty()) continue;
    const { data, position } = boxData(box);
    const old = node.data() as Partial<BoxData>;
    if (old.w !== data.w || old.h !== data.h || old.lx !== data.lx || old.ly !== data.ly || old.text !== data.text) node.data(data);
    const now = node.position();
    if (now.x !== position.x || now.y !== position.y) node.position(position);
  }
  for (const [id, route] of layout.routes) {
    const edge = cy.getElementById(id);
    if (edge.empty()) continue;
    const source = layout.boxes.get(edge.data('source') as string);
    const target = layout.boxes.get(edge.data('target') as string);
    if (!source || !target) continue;
    const data = routeData(route, boxData(source).position, boxData(target).position);
    const old = edge.data() as Partial<RouteData>;
    if (old.routed !== data.routed || old.sep !== data.sep || old.tep !== data.tep || !sameNumbers(old.ws, data.ws) || !sameNumbers(old.ds, data.ds)) edge.data(data);
  }
}

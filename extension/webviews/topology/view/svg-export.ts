/*
 * The topology as an SVG document, drawn from the layout's own geometry (./layout.ts): each box as
 * a rounded rectangle with the same text lines at the same place, each edge as the same polyline.
 * A few dozen lines instead of a plugin; the text is escaped, since names come from the lab host.
 */
import type { TopologyEdgeData, TopologyNodeData } from '../model';
import type { Point, Rect } from './geometry';
import { FONT_SIZE, LINE_HEIGHT } from './labels';
import type { TopologyLayout } from './layout';
import type { GraphColours } from './theme';

export interface SvgBox {
  id: string;
  kind: string;
  rect: Rect;
  lines: string[];
  bold: boolean;
  textCentre: Point;
  /** A box that holds others (host, namespace, container): drawn first, unfilled. */
  compound: boolean;
}

export interface SvgEdge {
  kind: string;
  points: Point[];
}

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

function strokeFor(kind: string, colours: GraphColours): string {
  switch (kind) {
    case 'host':
      return colours.host;
    case 'netns':
      return colours.netns;
    case 'container':
      return colours.container;
    case 'process':
      return colours.process;
    case 'bridge':
      return colours.bridge;
    default:
      return colours.veth;
  }
}

/** `boxes` back to front (holders before what they hold). */
export function topologySvg(boxes: SvgBox[], edges: SvgEdge[], colours: GraphColours): string {
  const margin = 24;
  const xs = [...boxes.flatMap((box) => [box.rect.x1, box.rect.x2]), ...edges.flatMap((edge) => edge.points.map((point) => point.x))];
  const ys = [...boxes.flatMap((box) => [box.rect.y1, box.rect.y2]), ...edges.flatMap((edge) => edge.points.map((point) => point.y))];
  const minX = Math.min(0, ...xs) - margin;
  const minY = Math.min(0, ...ys) - margin;
  const width = Math.ceil(Math.max(0, ...xs) + margin - minX);
  const height = Math.ceil(Math.max(0, ...ys) + margin - minY);
  const lines: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="${minX} ${minY} ${width} ${height}" font-family="${escape(colours.font)}" font-size="${FONT_SIZE}">`,
    `<title>Containers Lab — live topology</title>`,
    `<rect x="${minX}" y="${minY}" width="${width}" height="${height}" fill="${escape(colours.background)}"/>`,
  ];
  const drawBox = (box: SvgBox): void => {
    const stroke = escape(strokeFor(box.kind, colours));
    const { rect } = box;
    const dash = box.kind === 'netns' ? ' stroke-dasharray="6 3"' : box.kind === 'loopback' || box.kind === 'device' ? ' stroke-dasharray="2 2"' : '';
    const fill = box.compound ? 'none' : escape(colours.background);
    const top = box.textCentre.y - (box.lines.length * LINE_HEIGHT) / 2;
    lines.push(
      `<g data-id="${escape(box.id)}" data-kind="${escape(box.kind)}">`,
      `<rect x="${rect.x1}" y="${rect.y1}" width="${rect.x2 - rect.x1}" height="${rect.y2 - rect.y1}" rx="4" fill="${fill}" stroke="${stroke}" stroke-width="1.5"${dash}/>`,
      ...box.lines.map((line, index) => `<text x="${box.textCentre.x}" y="${top + index * LINE_HEIGHT + LINE_HEIGHT / 2}" dominant-baseline="central" text-anchor="middle" fill="${escape(colours.foreground)}"${box.bold ? ' font-weight="600"' : ''}>${escape(line)}</text>`),
      `</g>`,
    );
  };
  // Holding boxes first, then edges, then the leaves on top.
  for (const box of boxes.filter((item) => item.compound)) drawBox(box);
  for (const edge of edges) {
    const colour = escape(edge.kind === 'veth' ? colours.veth : colours.bridge);
    lines.push(`<polyline points="${edge.points.map((point) => `${point.x},${point.y}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="${edge.kind === 'veth' ? 2.5 : 1.5}"${edge.kind === 'master' ? ' stroke-dasharray="4 3"' : ''}/>`);
  }
  for (const box of boxes.filter((item) => !item.compound)) drawBox(box);
  lines.push('</svg>');
  return `${lines.join('\n')}\n`;
}

/** The page's picture: the layout's boxes (holders first) and ways, for the nodes and edges the page has. */
export function layoutSvg(layout: TopologyLayout | null, nodes: Record<string, TopologyNodeData>, edges: Record<string, TopologyEdgeData>, colours: GraphColours): string {
  if (!layout) return topologySvg([], [], colours);
  const depth = (id: string): number => {
    let level = 0;
    for (let node = nodes[id]; node?.parent; node = nodes[node.parent]) level++;
    return level;
  };
  const boxes: SvgBox[] = [...layout.boxes.entries()]
    .filter(([id]) => nodes[id])
    .sort(([a], [b]) => depth(a) - depth(b))
    .map(([id, box]) => {
      const kind = nodes[id]!.kind;
      return { id, kind, rect: box.rect, lines: box.text.lines, bold: box.text.bold, textCentre: box.textCentre, compound: kind === 'host' || kind === 'netns' || kind === 'container' };
    });
  const ways: SvgEdge[] = [...layout.routes.entries()].filter(([id]) => edges[id]).map(([id, route]) => ({ kind: edges[id]!.kind, points: route.points }));
  return topologySvg(boxes, ways, colours);
}

/*
 * The topology as an SVG document, drawn from the graph's own geometry: each namespace and
 * container as a rounded box (its bounding box as cytoscape laid it out), each link and process
 * as a labelled shape at its position, each edge as a line between its ends. A few dozen lines
 * instead of a plugin; the text is escaped, since names come from the lab host.
 */
import type { GraphColours } from './theme';

export interface SvgBox {
  id: string;
  kind: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  label: string;
  detail: string;
  compound: boolean;
}

export interface SvgEdge {
  kind: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
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

export function topologySvg(boxes: SvgBox[], edges: SvgEdge[], colours: GraphColours): string {
  const margin = 24;
  const all = [...boxes, ...edges];
  const minX = Math.min(0, ...all.map((item) => Math.min(item.x1, item.x2))) - margin;
  const minY = Math.min(0, ...all.map((item) => Math.min(item.y1, item.y2))) - margin;
  const maxX = Math.max(0, ...all.map((item) => Math.max(item.x1, item.x2))) + margin;
  const maxY = Math.max(0, ...all.map((item) => Math.max(item.y1, item.y2))) + margin;
  const width = Math.ceil(maxX - minX);
  const height = Math.ceil(maxY - minY);
  const lines: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="${minX} ${minY} ${width} ${height}" font-family="${escape(colours.font)}" font-size="12">`,
    `<title>Containers Lab — live topology</title>`,
    `<rect x="${minX}" y="${minY}" width="${width}" height="${height}" fill="${escape(colours.background)}"/>`,
  ];
  // Compound boxes first (outermost first, they are listed parents-before-children), then edges, then leaves on top.
  for (const box of boxes.filter((item) => item.compound)) {
    const stroke = escape(strokeFor(box.kind, colours));
    lines.push(
      `<g data-id="${escape(box.id)}" data-kind="${escape(box.kind)}">`,
      `<rect x="${box.x1}" y="${box.y1}" width="${box.x2 - box.x1}" height="${box.y2 - box.y1}" rx="8" fill="none" stroke="${stroke}" stroke-width="1.5"${box.kind === 'netns' ? ' stroke-dasharray="6 3"' : ''}/>`,
      `<text x="${box.x1 + 8}" y="${box.y1 + 15}" fill="${escape(colours.foreground)}" font-weight="600">${escape(box.label)}<tspan fill="${escape(colours.muted)}" font-weight="400"> ${escape(box.detail)}</tspan></text>`,
      `</g>`,
    );
  }
  for (const edge of edges) {
    const colour = escape(edge.kind === 'veth' ? colours.veth : colours.bridge);
    lines.push(`<line x1="${edge.x1}" y1="${edge.y1}" x2="${edge.x2}" y2="${edge.y2}" stroke="${colour}" stroke-width="${edge.kind === 'veth' ? 2.5 : 1.5}"${edge.kind === 'master' ? ' stroke-dasharray="4 3"' : ''}/>`);
  }
  for (const box of boxes.filter((item) => !item.compound)) {
    const stroke = escape(strokeFor(box.kind, colours));
    const cx = (box.x1 + box.x2) / 2;
    const cy = (box.y1 + box.y2) / 2;
    lines.push(
      `<g data-id="${escape(box.id)}" data-kind="${escape(box.kind)}">`,
      `<rect x="${box.x1}" y="${box.y1}" width="${box.x2 - box.x1}" height="${box.y2 - box.y1}" rx="${box.kind === 'process' ? 10 : 4}" fill="${escape(colours.background)}" stroke="${stroke}" stroke-width="1.5"/>`,
      `<text x="${cx}" y="${cy - 2}" text-anchor="middle" fill="${escape(colours.foreground)}">${escape(box.label)}</text>`,
      box.detail ? `<text x="${cx}" y="${cy + 12}" text-anchor="middle" fill="${escape(colours.muted)}" font-size="10">${escape(box.detail)}</text>` : '',
      `</g>`,
    );
  }
  lines.push('</svg>');
  return `${lines.filter(Boolean).join('\n')}\n`;
}

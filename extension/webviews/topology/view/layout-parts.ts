/*
 * The pieces the topology's layout (./layout.ts) packs: each a rectangle sized to its text, with
 * whatever it holds placed inside it — positions relative to its own top-left corner, so the
 * packer only moves whole pieces.
 *
 *   chip        a link or a process: its text, centred, with a little padding
 *   container   ┌──────────────────────────────┐   its name on the left, its processes
 *               │ web  [sleep 600 · pid 1]     │   stacked on the right
 *               └──────────────────────────────┘
 *   namespace   ┌ net:[4026532890] ───────────────┐   a header line; then the links, the ones a
 *   (a card)    │ [eth0 10.77.0.2/24] [lo]         │   veth cable comes to first and each at the
 *               │ ┌ web  [sleep 600 · pid 1] ┐     │   card's left edge (the cable enters there);
 *               │ └──────────────────────────┘     │   then its containers, one under another (a
 *               └──────────────────────────────────┘   pod has several)
 *
 * Nothing overlaps inside a piece because every item is placed after the one before it, in rows,
 * with a gap; a box's header line is kept free of children.
 */
import type { TopologyNodeData } from '../model';
import type { Point, Rect } from './geometry';
import { LINE_HEIGHT, nodeText, type MeasureText } from './labels';

export const CHIP_PAD_X = 6;
export const CHIP_PAD_Y = 2;
const CHIP_MIN_WIDTH = 30;
/** Between rows of a box. */
export const GAP = 4;
/** Between items side by side. */
export const CHIP_GAP = 6;
/** Inside a namespace's (or the host's) box, on the sides and at the bottom. */
export const BOX_PAD = 5;
/** A namespace's (or the host's) header line: its label, and no children. */
export const HEADER_HEIGHT = LINE_HEIGHT + 3;
const CONTAINER_PAD = 2;
/** Each step up a staircase of ports goes this far left (./layout-columns.ts). */
export const STAIR_STEP = 6;
/** A cable leaves its port this far right of the port's left edge; its line up this far left of its right edge. */
export const LANE_INSET = 3;
/** Between a bridge's bar and the ports under it. */
export const BAR_GAP = 6;

export interface PlacedText {
  lines: string[];
  bold: boolean;
  width: number;
  height: number;
}

/** One node of a piece, relative to the piece's top-left corner. */
export interface Placed {
  id: string;
  rect: Rect;
  text: PlacedText;
  /** Where the text's centre is. */
  textCentre: Point;
}

export interface Piece {
  width: number;
  height: number;
  /** The piece's own node first, then what it holds. */
  placed: Placed[];
  /** Lines inside the piece: a port's line up to its bridge (port id → points). */
  uplinks?: { port: string; points: Point[] }[];
}

/** A namespace card, with where each veth cable enters it. */
export interface Card extends Piece {
  node: TopologyNodeData;
  /** The links a cable from the host comes to, top to bottom: their left edge and middle. */
  entries: { link: string; x: number; y: number }[];
}

/** A piece's lines, moved with it. */
export function shiftLines(piece: Piece, dx: number, dy: number): { port: string; points: Point[] }[] {
  return (piece.uplinks ?? []).map((line) => ({ port: line.port, points: line.points.map((point) => ({ x: point.x + dx, y: point.y + dy })) }));
}

export function shift(placed: Placed[], dx: number, dy: number): Placed[] {
  return placed.map((item) => ({
    ...item,
    rect: { x1: item.rect.x1 + dx, y1: item.rect.y1 + dy, x2: item.rect.x2 + dx, y2: item.rect.y2 + dy },
    textCentre: { x: item.textCentre.x + dx, y: item.textCentre.y + dy },
  }));
}

/** Sizes text (cached: the layout runs on every change, and most labels stay). */
export class Sizer {
  private readonly cache = new Map<string, number>();

  constructor(private readonly measure: MeasureText) {}

  text(node: TopologyNodeData): PlacedText {
    const { lines, bold } = nodeText(node);
    return { lines, bold, width: Math.max(0, ...lines.map((line) => this.width(line, bold))), height: lines.length * LINE_HEIGHT };
  }

  width(line: string, bold: boolean): number {
    const key = `${bold ? 'b' : 'n'}${line}`;
    let width = this.cache.get(key);
    if (width === undefined) {
      width = Math.ceil(this.measure(line, bold));
      this.cache.set(key, width);
    }
    return width;
  }

  /** A link or process: its text centred in a small box. `minWidth` makes a row of them even. */
  chip(node: TopologyNodeData, minWidth = 0): Piece {
    const text = this.text(node);
    const width = Math.max(CHIP_MIN_WIDTH, minWidth, text.width + 2 * CHIP_PAD_X);
    const height = text.height + 2 * CHIP_PAD_Y;
    return { width, height, placed: [{ id: node.id, rect: { x1: 0, y1: 0, x2: width, y2: height }, text, textCentre: { x: width / 2, y: height / 2 } }] };
  }

  /** A bridge drawn as a bar `width` wide (at least its text), its text at the left. */
  bar(node: TopologyNodeData, width: number): Piece {
    const text = this.text(node);
    const height = text.height + 2 * CHIP_PAD_Y;
    const barWidth = Math.max(width, text.width + 2 * CHIP_PAD_X);
    return { width: barWidth, height, placed: [{ id: node.id, rect: { x1: 0, y1: 0, x2: barWidth, y2: height }, text, textCentre: { x: CHIP_PAD_X + text.width / 2, y: height / 2 } }] };
  }

  /**
   * A bridge none of whose ports leads to a namespace drawn (another runtime's, like docker0):
   * its bar, and its ports under it in small staircases of up to three (each line up passes left of
   * the ports above, which step left) — or a single port beside it — a piece for the host's rows.
   */
  bridgeWithPorts(bridge: TopologyNodeData, ports: TopologyNodeData[]): Piece {
    const chips = ports.map((port) => this.chip(port));
    if (ports.length === 1) {
      // one port: beside its bar, the line between them
      const bar = this.bar(bridge, 0);
      const chip = chips[0]!;
      const height = Math.max(bar.height, chip.height);
      const x = bar.width + 3 * CHIP_GAP;
      const placed = [...shift(bar.placed, 0, (height - bar.height) / 2), ...shift(chip.placed, x, (height - chip.height) / 2)];
      return { width: x + chip.width, height, placed, uplinks: [{ port: ports[0]!.id, points: [{ x, y: height / 2 }, { x: bar.width, y: height / 2 }] }] };
    }
    const portWidth = Math.max(0, ...chips.map((chip) => chip.width));
    const portHeight = Math.max(0, ...chips.map((chip) => chip.height));
    const levels = Math.min(3, Math.ceil(ports.length / 4));
    const stairs = portWidth + (levels - 1) * STAIR_STEP;
    const columns = Math.ceil(ports.length / levels);
    const bar = this.bar(bridge, columns * (stairs + CHIP_GAP) - CHIP_GAP);
    const top = bar.height + BAR_GAP;
    const placed: Placed[] = [...bar.placed];
    const uplinks: { port: string; points: Point[] }[] = [];
    ports.forEach((port, index) => {
      const level = index % levels;
      const x1 = Math.floor(index / levels) * (stairs + CHIP_GAP) + (levels - 1 - level) * STAIR_STEP;
      const y1 = top + (levels - 1 - level) * (portHeight + GAP);
      const rect = { x1, y1, x2: x1 + portWidth, y2: y1 + portHeight };
      placed.push({ id: port.id, rect, text: chips[index]!.placed[0]!.text, textCentre: { x: x1 + portWidth / 2, y: y1 + portHeight / 2 } });
      uplinks.push({ port: port.id, points: [{ x: rect.x2 - LANE_INSET, y: y1 }, { x: rect.x2 - LANE_INSET, y: bar.height }] });
    });
    return { width: bar.width, height: top + levels * (portHeight + GAP) - GAP, placed, uplinks };
  }

  /**
   * A container: its name on the left and its processes stacked on the right — or, `stacked`, its
   * name on top and its processes under it (narrower, for long command lines).
   */
  container(node: TopologyNodeData, processes: TopologyNodeData[], stacked = false): Piece {
    const text = this.text(node);
    const chips = processes.map((process) => this.chip(process));
    const chipRow = chips[0]?.height ?? text.height + 2 * CHIP_PAD_Y;
    const stackWidth = Math.max(0, ...chips.map((chip) => chip.width));
    const width = stacked ? CONTAINER_PAD + Math.max(text.width, stackWidth) + CONTAINER_PAD : CONTAINER_PAD + text.width + (chips.length > 0 ? CHIP_GAP + stackWidth : 0) + CONTAINER_PAD;
    const placed: Placed[] = [];
    let y = CONTAINER_PAD + (stacked && chips.length > 0 ? text.height + GAP : 0);
    for (const chip of chips) {
      placed.push(...shift(chip.placed, stacked ? CONTAINER_PAD : width - CONTAINER_PAD - stackWidth, y));
      y += chip.height + GAP;
    }
    const height = Math.max(CONTAINER_PAD + (stacked ? text.height : chipRow), y - GAP) + CONTAINER_PAD;
    const textCentre = stacked ? { x: CONTAINER_PAD + text.width / 2, y: CONTAINER_PAD + text.height / 2 } : { x: CONTAINER_PAD + text.width / 2, y: CONTAINER_PAD + chipRow / 2 };
    return { width, height, placed: [{ id: node.id, rect: { x1: 0, y1: 0, x2: width, y2: height }, text, textCentre }, ...placed] };
  }

  /**
   * A namespace's card. `links` in drawing order, `attached` the ones a host cable comes to (each
   * gets the left edge of a row of its own: the first shares its row with the others).
   */
  card(node: TopologyNodeData, links: TopologyNodeData[], attached: Set<string>, members: { node: TopologyNodeData; processes: TopologyNodeData[] }[]): Card {
    const text = this.text(node);
    const cabled = links.filter((link) => attached.has(link.id));
    const others = links.filter((link) => !attached.has(link.id));
    const rows = cabled.length > 0 ? [[cabled[0]!, ...others], ...cabled.slice(1).map((link) => [link])] : others.length > 0 ? [others] : [];
    const placed: Placed[] = [];
    const entries: Card['entries'] = [];
    let contentWidth = text.width;
    let rowsWidth = 0;
    let y = HEADER_HEIGHT;
    for (const row of rows) {
      let x = BOX_PAD;
      let rowHeight = 0;
      for (const link of row) {
        const chip = this.chip(link);
        placed.push(...shift(chip.placed, x, y));
        if (attached.has(link.id)) entries.push({ link: link.id, x, y: y + chip.height / 2 });
        x += chip.width + CHIP_GAP;
        rowHeight = Math.max(rowHeight, chip.height);
      }
      contentWidth = Math.max(contentWidth, x - CHIP_GAP - BOX_PAD);
      rowsWidth = Math.max(rowsWidth, x - CHIP_GAP - BOX_PAD);
      y += rowHeight + GAP;
    }
    // Containers one under another: a pod's card grows taller, not wider (columns of cards stay even);
    // one much wider than the links (a long command line) puts its processes under its name.
    // ("much wider": than these links, or than the widest IPv4 links a card usually has — as wide as its column-mates)
    const usual = this.width('eth0 255.255.255.255/24', false) + 4 * CHIP_PAD_X + CHIP_GAP + CHIP_MIN_WIDTH;
    const linksWidth = Math.max(rowsWidth, usual);
    const containers = members.map(({ node: member, processes }) => {
      const side = this.container(member, processes);
      return side.width > linksWidth * 1.2 ? this.container(member, processes, true) : side;
    });
    for (const piece of containers) {
      placed.push(...shift(piece.placed, BOX_PAD, y));
      contentWidth = Math.max(contentWidth, piece.width);
      y += piece.height + GAP;
    }
    const width = contentWidth + 2 * BOX_PAD;
    const height = (rows.length + containers.length > 0 ? y - GAP : y) + BOX_PAD;
    const self: Placed = { id: node.id, rect: { x1: 0, y1: 0, x2: width, y2: height }, text, textCentre: { x: BOX_PAD + text.width / 2, y: HEADER_HEIGHT / 2 } };
    return { width, height, placed: [self, ...placed], node, entries };
  }
}

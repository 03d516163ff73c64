/*
 * Where a new node goes — and why old ones never move.
 *
 * A learner watches the picture while containers come and go; if every change re-ran a force
 * layout, everything would jump. So positions are handed out once, left to right like the packet
 * path, and kept:
 *
 *   host-network      host devices      host veth ends      one cell per container namespace
 *   containers        (lo, eth0,        (each in the row    ┌──────┐ ┌──────┐ ┌──────┐
 *   (x = HOST_CTR_X)   bridges)          of its cell)       │lo eth0│ │lo eth0│ │lo    │ …
 *                     (x = DEVICE_X)    (x = PORT_X)        │ web   │ │ db    │ │ none │
 *                                                           └──────┘ └──────┘ └──────┘
 *
 * Namespaces take the first free cell of a grid (CELL_COLUMNS wide); a cell freed by a removed
 * namespace is reused. Inside a cell, links go on the top row and containers below, their
 * processes stacked under them. A node placed before its neighbour was known (a host veth end
 * announced before its container) is "provisional" and is moved once, next to its neighbour.
 * Only leaf nodes get positions: cytoscape sizes compound nodes (namespaces, containers) around
 * their children. No DOM here, so the bookkeeping can be saved with the page's state.
 */
import type { TopologyNodeData } from '../model';

export interface Point {
  x: number;
  y: number;
}

const CELL_COLUMNS = 5;
const CELL_WIDTH = 400;
const CELL_HEIGHT = 400;
const CELLS_X = 580;
const HOST_CTR_X = -260;
const DEVICE_X = 0;
const PORT_X = 260;
const ROW = 64;
const LINK_GAP = 138;
const CONTAINER_TOP = 110;
const CONTAINER_GAP = 185;
/** A pod's containers go two to a row inside its cell, so the cell stays its own width. */
const CONTAINERS_PER_ROW = 2;
const CONTAINER_ROW = 140;
const PROCESS_GAP = 40;

/** What survives a reload (saved in the page state as JSON). */
export interface LayoutState {
  /** namespace node id → cell index */
  cells: Record<string, number>;
  /** parent id → lane → next free slot */
  slots: Record<string, Record<string, number[]>>;
}

export class StableLayout {
  private readonly state: LayoutState;
  private readonly provisional = new Set<string>();

  constructor(saved?: unknown) {
    const valid = typeof saved === 'object' && saved !== null && 'cells' in saved && 'slots' in saved;
    this.state = valid ? (saved as LayoutState) : { cells: {}, slots: {} };
  }

  save(): LayoutState {
    return this.state;
  }

  /** A namespace's cell: the first free one. */
  cellOf(netnsId: string): number {
    const known = this.state.cells[netnsId];
    if (known !== undefined) return known;
    const used = new Set(Object.values(this.state.cells));
    let cell = 0;
    while (used.has(cell)) cell++;
    this.state.cells[netnsId] = cell;
    return cell;
  }

  private cellOrigin(cell: number): Point {
    return { x: CELLS_X + (cell % CELL_COLUMNS) * CELL_WIDTH, y: Math.floor(cell / CELL_COLUMNS) * CELL_HEIGHT };
  }

  /** The lowest free slot of a lane in a parent, taken for `id`. */
  private slot(parent: string, lane: string, id: string): number {
    const lanes = (this.state.slots[parent] ??= {});
    const holders = (lanes[lane] ??= []) as unknown as (string | null)[];
    const existing = holders.indexOf(id);
    if (existing >= 0) return existing;
    const free = holders.indexOf(null);
    if (free >= 0) {
      holders[free] = id;
      return free;
    }
    holders.push(id);
    return holders.length - 1;
  }

  /** Frees everything a removed node held. */
  forget(id: string): void {
    delete this.state.cells[id];
    delete this.state.slots[id];
    this.provisional.delete(id);
    for (const lanes of Object.values(this.state.slots)) {
      for (const holders of Object.values(lanes) as unknown as (string | null)[][]) {
        const index = holders.indexOf(id);
        if (index >= 0) holders[index] = null;
      }
    }
  }

  isProvisional(id: string): boolean {
    return this.provisional.has(id);
  }

  /**
   * A position for a new leaf node. `nodes` looks up other nodes (for parents), `neighbour`
   * names the node at the other end of its veth pair when known, `hostNetnsId` the host's node,
   * `positionOf` reads where an existing node is.
   */
  place(node: TopologyNodeData, context: { node(id: string): TopologyNodeData | undefined; neighbourCell(id: string): number | null; hostNetnsId: string }): Point {
    const parent = node.parent ? context.node(node.parent) : undefined;
    if (!parent) return { x: 0, y: 0 };
    this.provisional.delete(node.id);

    if (parent.kind === 'host') {
      if (node.kind === 'container') {
        return { x: HOST_CTR_X, y: this.slot(parent.id, 'container', node.id) * (ROW * 3) };
      }
      if (node.kind === 'veth') {
        const cell = context.neighbourCell(node.id);
        if (cell === null) {
          // Its container is not known yet: a spare row below the cells' rows, until it is.
          this.provisional.add(node.id);
          return { x: PORT_X + 40, y: -ROW * (1 + this.slot(parent.id, 'spare', node.id)) };
        }
        const origin = this.cellOrigin(cell);
        return { x: PORT_X, y: origin.y + (cell % CELL_COLUMNS) * (PROCESS_GAP + 8) };
      }
      return { x: DEVICE_X, y: this.slot(parent.id, 'device', node.id) * ROW };
    }

    if (parent.kind === 'netns') {
      const origin = this.cellOrigin(this.cellOf(parent.id));
      if (node.kind === 'container') return containerSpot(origin, this.slot(parent.id, 'container', node.id));
      return { x: origin.x + this.slot(parent.id, 'link', node.id) * LINK_GAP, y: origin.y };
    }

    if (parent.kind === 'container') {
      const home = parent.parent ? context.node(parent.parent) : undefined;
      const index = this.slot(parent.id, 'process', node.id);
      if (home?.kind === 'netns') {
        const origin = this.cellOrigin(this.cellOf(home.id));
        const spot = containerSpot(origin, this.slot(home.id, 'container', parent.id));
        return { x: spot.x, y: spot.y + index * PROCESS_GAP };
      }
      // A host-network container's processes, under it in the left column.
      const row = this.slot(context.hostNetnsId, 'container', parent.id);
      return { x: HOST_CTR_X, y: row * (ROW * 3) + index * PROCESS_GAP };
    }
    return { x: 0, y: 0 };
  }
}

/** The n-th container of a namespace cell: two to a row, rows below the links. */
function containerSpot(origin: Point, slot: number): Point {
  return {
    x: origin.x + (slot % CONTAINERS_PER_ROW) * CONTAINER_GAP,
    y: origin.y + CONTAINER_TOP + Math.floor(slot / CONTAINERS_PER_ROW) * CONTAINER_ROW,
  };
}

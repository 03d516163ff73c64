/*
 * Rectangles and line segments in the topology's model coordinates (y grows downwards, as on the
 * canvas): the few questions the layout's guarantees are stated in — do two boxes overlap, is one
 * inside another, does a cable's segment pass through a box. The layout's unit test and the
 * end-to-end test ask them of the computed and of the drawn picture.
 */

export interface Point {
  x: number;
  y: number;
}

export interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export const rectWidth = (rect: Rect): number => rect.x2 - rect.x1;
export const rectHeight = (rect: Rect): number => rect.y2 - rect.y1;
export const rectCentre = (rect: Rect): Point => ({ x: (rect.x1 + rect.x2) / 2, y: (rect.y1 + rect.y2) / 2 });

/** Do the two rectangles share any area (touching edges do not count)? */
export function overlaps(a: Rect, b: Rect): boolean {
  return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
}

/** Is `inner` within `outer` (within `slack` units)? */
export function contains(outer: Rect, inner: Rect, slack = 0): boolean {
  return inner.x1 >= outer.x1 - slack && inner.y1 >= outer.y1 - slack && inner.x2 <= outer.x2 + slack && inner.y2 <= outer.y2 + slack;
}

/** The rectangle grown (or, negative, shrunk) by `by` on every side. */
export function inflate(rect: Rect, by: number): Rect {
  return { x1: rect.x1 - by, y1: rect.y1 - by, x2: rect.x2 + by, y2: rect.y2 + by };
}

/** The smallest rectangle holding all of them (null for none). */
export function union(rects: Iterable<Rect>): Rect | null {
  let all: Rect | null = null;
  for (const rect of rects) {
    all = all ? { x1: Math.min(all.x1, rect.x1), y1: Math.min(all.y1, rect.y1), x2: Math.max(all.x2, rect.x2), y2: Math.max(all.y2, rect.y2) } : { ...rect };
  }
  return all;
}

/**
 * Does the segment a→b pass through the inside of `rect`? (Liang–Barsky clipping: the part of the
 * segment inside is non-empty.) A segment that only runs along an edge or ends on it does not.
 */
export function segmentCrosses(a: Point, b: Point, rect: Rect): boolean {
  const inner = inflate(rect, -0.5);
  if (inner.x1 >= inner.x2 || inner.y1 >= inner.y2) return false;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  let enter = 0;
  let leave = 1;
  for (const [p, q] of [
    [-dx, a.x - inner.x1],
    [dx, inner.x2 - a.x],
    [-dy, a.y - inner.y1],
    [dy, inner.y2 - a.y],
  ] as const) {
    if (p === 0) {
      if (q <= 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) enter = Math.max(enter, t);
    else leave = Math.min(leave, t);
    if (enter >= leave) return false;
  }
  return true;
}

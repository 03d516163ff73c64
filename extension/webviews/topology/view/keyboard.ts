/*
 * Moving the selection with the arrow keys: to the nearest node in the direction pressed, by the
 * centres the layout gave the boxes (a box inside another is found from its holder, and back).
 */
import type cytoscape from 'cytoscape';

export const DIRECTIONS: Record<string, [number, number]> = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] };

/** The closest node whose centre lies within 60° of the direction pressed. */
export function nearestInDirection(cy: cytoscape.Core, from: string | null, [dx, dy]: [number, number]): string | null {
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

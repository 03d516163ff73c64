/*
 * Work-arounds for cytoscape behaviour that costs the Live Topology its speed.
 *
 * Each time cytoscape (3.34) draws a node without a background image, its renderer flips the
 * node's internal "backgrounding" flag on and off again, and each flip restyles the node together
 * with all its compound ancestors and descendants. In this graph everything sits in compound
 * nodes (namespaces, containers), so with 100 containers one frame restyled thousands of
 * elements: half a second per change. The graph uses no background images, so the flag is
 * pinned to "not backgrounding" for every element added.
 */
import type cytoscape from 'cytoscape';

interface ElementInternals {
  _private: { backgrounding?: boolean };
}

/** Pins the flag of each element in `elements` (what cy.add returns). */
export function pinBackgrounding(elements: cytoscape.CollectionReturnValue): void {
  const raw = elements as unknown as ArrayLike<ElementInternals>;
  for (let index = 0; index < raw.length; index++) {
    Object.defineProperty(raw[index]!._private, 'backgrounding', { configurable: true, get: () => false, set: () => undefined });
  }
}

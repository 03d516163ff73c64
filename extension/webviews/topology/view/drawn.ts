/*
 * What the topology page has drawn, read back from cytoscape for the end-to-end tests
 * (window.__topologyGeometry()): every box with its border and its text's box as cytoscape
 * measured them, every edge's points, the zoom and pan — so a test checks the picture itself,
 * not the layout that was meant.
 */
import type cytoscape from 'cytoscape';
import type { Point, Rect } from './geometry';
import type { TopologyLayout } from './layout';

/** What is drawn, in model coordinates (screen = model × zoom + pan), for the e2e tests. */
export interface DrawnTopology {
  zoom: number;
  pan: Point;
  viewport: { width: number; height: number };
  /** The user zoomed or panned since the last fit. */
  userMoved: boolean;
  /** The layout's own figures: how tall a column of cards may be, and what it covers. */
  layout: { columnLimit: number; bounds: Rect } | null;
  nodes: { id: string; kind: string; parent: string | null; box: Rect; label: Rect | null; fontSize: number }[];
  edges: { id: string; kind: string; source: string; target: string; points: Point[] }[];
}

const rect = (bounds: cytoscape.BoundingBox12): Rect => ({ x1: bounds.x1, y1: bounds.y1, x2: bounds.x2, y2: bounds.y2 });

export function drawnTopology(cy: cytoscape.Core, layout: TopologyLayout | null, userMoved: boolean): DrawnTopology {
  return {
    zoom: cy.zoom(),
    pan: { ...cy.pan() },
    viewport: { width: cy.width(), height: cy.height() },
    userMoved,
    layout: layout ? { columnLimit: layout.columnLimit, bounds: layout.bounds } : null,
    nodes: cy.nodes().map((node) => {
      const label = node.boundingBox({ includeNodes: false, includeEdges: false, includeLabels: true, includeOverlays: false });
      return {
        id: node.id(),
        kind: String(node.data('kind')),
        parent: (node.data('home') as string | undefined) || null,
        box: rect(node.boundingBox({ includeLabels: false, includeOverlays: false })),
        label: label.w > 0 ? rect(label) : null,
        fontSize: node.numericStyle('font-size') as number,
      };
    }),
    edges: cy.edges().map((edge) => ({
      id: edge.id(),
      kind: String(edge.data('kind')),
      source: edge.source().id(),
      target: edge.target().id(),
      points: [edge.sourceEndpoint(), ...((edge.segmentPoints() as cytoscape.Position[] | undefined) ?? []), edge.targetEndpoint()].map((point) => ({ x: point.x, y: point.y })),
    })),
  };
}

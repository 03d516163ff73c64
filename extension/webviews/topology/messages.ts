/*
 * What the Topology panel (extension side) and its page say to each other. Types only: both sides
 * import this file, the page through its browser bundle.
 */
import type { RevealTarget, TopologyDiff } from './model';

export type ExportFormat = 'svg' | 'png';

/** Saved by the page (VS Code keeps it across reloads; the serializer revives the panel from it). */
export interface TopologyState {
  /** The node to select and centre once the graph holds it (Show in Topology). The picture itself
   *  needs no saving: the layout is a function of the graph and the page's size. */
  focus?: string;
}

/** Date.now() readings along a diff's way, kept by the page for the benchmark's breakdown. */
export interface DiffTiming {
  /** The oldest agent notification behind the diff reached the extension. */
  notifiedAt?: number;
  /** The extension posted the diff to the page. */
  sentAt: number;
}

export type ToPage =
  /** Elements to add, update, remove. `reset`: the page's graph is dropped first (a new connection). */
  | { type: 'diff'; diff: TopologyDiff; reset?: boolean; timing?: DiffTiming }
  | { type: 'status'; text: string }
  | { type: 'focus'; node: string }
  | { type: 'export'; format: ExportFormat };

export type FromPage =
  | { type: 'ready' }
  | { type: 'reveal'; target: RevealTarget; label: string }
  /** The picture: SVG text, or PNG as base64. */
  | { type: 'exported'; format: ExportFormat; data: string }
  | { type: 'exportFailed'; format: ExportFormat; message: string }
  | { type: 'requestExport'; format: ExportFormat }
  | { type: 'connect' };

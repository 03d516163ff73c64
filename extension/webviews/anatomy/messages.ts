/*
 * What the Anatomy panel (extension side) and its page say to each other. Types only: both sides
 * import this file, the page through its browser bundle.
 */
import type { ContainerRecord, PathLayer } from '../../../agent/protocol';
import type { UsageSample } from './usage-history';

export interface AnatomyState {
  id: string;
  name: string;
}

export type ToPage =
  /** The record as the kernel shows it now, and the usage samples so far (oldest first). */
  | { type: 'record'; record: ContainerRecord; history: UsageSample[] }
  | { type: 'removed'; name: string }
  | { type: 'connection'; connected: boolean }
  | { type: 'pathLayer'; result: PathLayer }
  | { type: 'pathLayerError'; path: string; message: string };

export type FromPage =
  | { type: 'ready' }
  | { type: 'pathLayer'; path: string }
  | { type: 'connect' }
  | { type: 'openManifests' };

/*
 * What the Anatomy panel (extension side) and its page say to each other. Types only: both sides
 * import this file, the page through its browser bundle.
 */
import type { ContainerLayers, ContainerRecord, PathLayer } from '../../../agent/protocol';
import type { Protection } from './security-rows';
import type { UsageSample } from './usage-history';

export interface AnatomyState {
  id: string;
  name: string;
}

export type ToPage =
  /** The record as the kernel shows it now, and the usage samples so far (oldest first). */
  | { type: 'record'; record: ContainerRecord; history: UsageSample[] }
  /** The container is gone; `record` is the last one taken while it ran (or the last at all), to show how it was. */
  | { type: 'removed'; name: string; record?: ContainerRecord; history?: UsageSample[] }
  | { type: 'connection'; connected: boolean }
  | { type: 'pathLayer'; result: PathLayer }
  /** The overlay's layers, top first (container.layers): drawn as a stack. */
  | { type: 'layers'; layers: ContainerLayers }
  | { type: 'pathLayerError'; path: string; message: string }
  /** The "Try without" copy asked for is running (or failed: the extension said why). */
  | { type: 'tryDone' };

export type FromPage =
  | { type: 'ready' }
  | { type: 'pathLayer'; path: string }
  | { type: 'connect' }
  | { type: 'openManifests' }
  /** Start a copy of this container with `protection` switched, and open its Anatomy beside this one. */
  | { type: 'tryWithout'; protection: Protection };

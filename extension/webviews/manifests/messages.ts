/*
 * What the Manifests panel (extension side) and its page say to each other. Types only: both
 * sides import this file, the page through its browser bundle.
 */
import type { ContainerStatus } from '../../../agent/protocol';
import type { FieldSpan } from './document-fields';
import type { KernelObject } from './kernel-objects';
import type { PodManifests } from './pod-manifests';
import type { FieldLink } from './pod-yaml';

export interface ManifestsState {
  id: string;
  name: string;
}

/** The panel for a pod (./pod-manifests-panel.ts): its Pod YAML beside each container's config.json. */
export interface PodManifestsState {
  pod: string;
}

export interface ManifestDocument {
  /** The document's text exactly as the read-only editor shows it. */
  text: string;
  fields: FieldSpan[];
}

/** The image config a container's config.json was made from (null text: the image is gone from the store). */
export interface ImageConfigDocument {
  name: string;
  text: string | null;
}

/** A link as the page needs it: which fields on each side belong together (values come on demand). */
export type PageLink = Omit<FieldLink, 'kernel'> & { hasKernel: boolean };

export type ToPage =
  | { type: 'documents'; name: string; status: ContainerStatus; config: ManifestDocument; pod: ManifestDocument; links: PageLink[]; image?: ImageConfigDocument }
  /** The kernel object behind a link, read from a fresh container.inspect at `readAt`. */
  | { type: 'kernel'; linkId: string; kernel: KernelObject | null; readAt: string }
  | { type: 'status'; status: ContainerStatus | 'removed' }
  | { type: 'error'; message: string }
  /** For a pod's panel: everything at once, again after each of the pod's changes (a restart makes a new container). */
  | { type: 'pod-documents'; manifests: PodManifests }
  | { type: 'pod-removed' };

export type FromPage =
  | { type: 'ready' }
  | { type: 'select'; linkId: string }
  | { type: 'open'; document: 'config' | 'pod' };

/*
 * The JSON documents of an image: index, manifest and config, read strictly.
 *
 * They arrive from a registry or an archive nobody vouched for, and they decide which files are
 * opened and which blobs are fetched, so each field is checked before use: every digest is a
 * real sha256 digest, every size a non-negative integer, every list a list. What a field means:
 *   - index.manifests[]: one descriptor per platform, with `platform: {architecture, os, variant}`;
 *   - manifest.config: the config blob; manifest.layers[]: the layer blobs, base layer first;
 *   - config.rootfs.diff_ids[]: the digest of each layer *uncompressed* (the tar itself), which is
 *     what names an unpacked layer — one tar compressed two ways is still one layer;
 *   - config.history[]: one entry per build step, `created_by` the command; entries with
 *     `empty_layer: true` (ENV, CMD…) made no layer, the others map in order onto the layers;
 *   - config.config: what a container of the image runs (Entrypoint, Cmd, Env, WorkingDir, User…).
 */
import { badInput, quote } from '../errors';
import { parseDigest } from './digest';
import type { Digest } from './digest';
import { MEDIA_TYPES, isIndexType, isManifestType, isSchema1 } from './media-types';
import type { ImageRunConfig } from '../protocol/images';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** The part of the config a container is made from (Docker's names, kept as they are): the protocol's type. */
export type ContainerConfig = ImageRunConfig;

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs: { type: string; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

/** Manifests and configs are small; a larger document is refused before it is held in memory. */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

type Json = Record<string, unknown>;

function parseJsonObject(bytes: Buffer, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw badInput(`${what} is not valid JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badInput(`${what} is not a JSON object`);
  return value as Json;
}

function stringRecord(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((item) => typeof item !== 'string')) {
    throw badInput(`${what} must map names to strings`);
  }
  return value as Record<string, string>;
}

export function parseDescriptor(value: unknown, what: string): Descriptor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badInput(`${what} is not a descriptor object`);
  const item = value as Json;
  if (typeof item.mediaType !== 'string' || item.mediaType === '') throw badInput(`${what} has no mediaType`);
  const size = item.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw badInput(`${what} has no valid size (${quote(size)})`);
  const descriptor: Descriptor = { mediaType: item.mediaType, digest: parseDigest(item.digest, `${what}'s digest`), size };
  if (item.platform !== undefined) {
    const platform = item.platform as Json | null;
    if (typeof platform !== 'object' || platform === null || typeof platform.architecture !== 'string' || typeof platform.os !== 'string') {
      throw badInput(`${what} has a platform without architecture and os`);
    }
    descriptor.platform = { architecture: platform.architecture, os: platform.os };
    if (typeof platform.variant === 'string' && platform.variant !== '') descriptor.platform.variant = platform.variant;
  }
  const annotations = stringRecord(item.annotations, `${what}'s annotations`);
  if (annotations) descriptor.annotations = annotations;
  return descriptor;
}

/**
 * An index or a manifest from its bytes. `contentType` is what the registry said (a fallback:
 * the document's own mediaType field wins, and OCI documents may omit it).
 */
export function parseManifestDocument(bytes: Buffer, contentType: string | null, what: string): ImageIndex | ImageManifest {
  const document = parseJsonObject(bytes, what);
  const declared = typeof document.mediaType === 'string' ? document.mediaType : null;
  const header = contentType?.split(';')[0]!.trim() ?? null;
  let mediaType = declared ?? (header && header !== 'application/json' && header !== 'text/plain' ? header : null);
  if (mediaType === null) {
    if (Array.isArray(document.manifests)) mediaType = MEDIA_TYPES.ociIndex;
    else if (document.config !== undefined && Array.isArray(document.layers)) mediaType = MEDIA_TYPES.ociManifest;
    else mediaType = '';
  }
  if (isSchema1(mediaType) || document.schemaVersion === 1) {
    throw badInput(`${what} is a Docker schema 1 manifest (Docker before 1.10, 2016): not supported; push the image again with a current tool`);
  }
  if (document.schemaVersion !== 2) throw badInput(`${what} has schemaVersion ${quote(document.schemaVersion)}: only 2 is supported`);
  const annotations = stringRecord(document.annotations, `${what}'s annotations`);

  if (isIndexType(mediaType)) {
    if (!Array.isArray(document.manifests)) throw badInput(`${what} is an index without a manifests list`);
    const manifests = document.manifests.map((item, index) => parseDescriptor(item, `manifest ${index + 1} of ${what}`));
    return { kind: 'index', mediaType, manifests, ...(annotations ? { annotations } : {}) };
  }
  if (isManifestType(mediaType)) {
    if (!Array.isArray(document.layers)) throw badInput(`${what} has no layers list`);
    const config = parseDescriptor(document.config, `the config of ${what}`);
    const layers = document.layers.map((item, index) => parseDescriptor(item, `layer ${index + 1} of ${what}`));
    return { kind: 'manifest', mediaType, config, layers, ...(annotations ? { annotations } : {}) };
  }
  throw badInput(`${what} has media type ${quote(mediaType)}: not an image index or manifest (is it an artifact, e.g. a signature or a Helm chart?)`);
}

function stringList(value: unknown, what: string): string[] | null | undefined {
  if (value === undefined || value === null) return value as null | undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw badInput(`${what} must be a list of strings`);
  return value as string[];
}

export function parseImageConfig(bytes: Buffer, what: string): ImageConfig {
  const document = parseJsonObject(bytes, what);
  const rootfs = document.rootfs as Json | undefined;
  if (typeof rootfs !== 'object' || rootfs === null || !Array.isArray(rootfs.diff_ids)) throw badInput(`${what} has no rootfs.diff_ids`);
  const diffIds = rootfs.diff_ids.map((id, index) => parseDigest(id, `diff ID ${index + 1} of ${what}`));
  const config: ImageConfig = {
    architecture: typeof document.architecture === 'string' ? document.architecture : '',
    os: typeof document.os === 'string' ? document.os : '',
    rootfs: { type: typeof rootfs.type === 'string' ? rootfs.type : 'layers', diff_ids: diffIds },
  };
  if (typeof document.variant === 'string') config.variant = document.variant;
  if (typeof document.created === 'string') config.created = document.created;
  if (typeof document.author === 'string') config.author = document.author;
  if (document.config !== undefined && document.config !== null) config.config = parseContainerConfig(document.config, `${what}'s config`);
  if (Array.isArray(document.history)) {
    config.history = document.history.map((entry): HistoryEntry => {
      const item = (typeof entry === 'object' && entry !== null ? entry : {}) as Json;
      const history: HistoryEntry = {};
      if (typeof item.created === 'string') history.created = item.created;
      if (typeof item.created_by === 'string') history.created_by = item.created_by;
      if (typeof item.comment === 'string') history.comment = item.comment;
      if (item.empty_layer === true) history.empty_layer = true;
      return history;
    });
  }
  return config;
}

function parseContainerConfig(value: unknown, what: string): ContainerConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badInput(`${what} is not an object`);
  const item = value as Json;
  const result: ContainerConfig = {};
  if (typeof item.User === 'string') result.User = item.User;
  if (typeof item.WorkingDir === 'string') result.WorkingDir = item.WorkingDir;
  if (typeof item.StopSignal === 'string') result.StopSignal = item.StopSignal;
  const env = stringList(item.Env, `${what}.Env`);
  if (env) result.Env = env;
  const entrypoint = stringList(item.Entrypoint, `${what}.Entrypoint`);
  if (entrypoint !== undefined) result.Entrypoint = entrypoint;
  const cmd = stringList(item.Cmd, `${what}.Cmd`);
  if (cmd !== undefined) result.Cmd = cmd;
  const labels = stringRecord(item.Labels, `${what}.Labels`);
  if (labels) result.Labels = labels;
  for (const key of ['ExposedPorts', 'Volumes'] as const) {
    const map = item[key];
    if (typeof map === 'object' && map !== null && !Array.isArray(map)) result[key] = map as Record<string, unknown>;
  }
  return result;
}

/**
 * The build command that made each layer (`created_by`), aligned with the layers: history
 * entries marked empty_layer made none. Null where the history does not say.
 */
export function layerHistory(config: ImageConfig): (HistoryEntry | null)[] {
  const layered = (config.history ?? []).filter((entry) => !entry.empty_layer);
  return config.rootfs.diff_ids.map((_, index) => layered[index] ?? null);
}

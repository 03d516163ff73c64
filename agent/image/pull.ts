/*
 * Pulling an image: from a name to unpacked layers, each step verified.
 *
 *   1. resolve   `alpine` → docker.io/library/alpine:latest (./reference.ts)
 *   2. manifest  GET the tag: an index (one manifest per platform) or a manifest; from an index,
 *                the entry for this machine's platform, GET by its digest (./platform.ts)
 *   3. config    the image's JSON: diff IDs of the layers, history, Entrypoint/Cmd/Env…
 *   4. layers    each blob into the content store — several at once, each verified against its
 *                digest while streaming, a blob already present not fetched again — and each
 *                unpacked into its own directory as soon as it is complete (./layers.ts)
 *   5. name      only now does the name point at the image (./store.ts): an interrupted pull
 *                leaves complete, verified blobs (prune removes them; the next pull reuses them)
 *                and never a name that points at missing layers.
 * A cancelled pull (options.signal) stops at the next step and cuts the transfers under way.
 * Every document is kept in the content store under its digest, exactly as fetched, so the
 * digests shown later are the registry's. Progress goes to one callback as events (per layer:
 * bytes so far and total), for the CLI's progress lines and the protocol's notifications alike.
 */
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { LabError, badInput } from '../errors';
import type { Digest } from './digest';
import { ensureLayerUnpacked } from './layers';
import { MAX_DOCUMENT_BYTES, parseImageConfig, parseManifestDocument } from './manifest';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from './manifest';
import { layerCompression } from './media-types';
import { formatPlatform, hostPlatform, selectPlatformManifest } from './platform';
import { familiarReference, formatReference, manifestSelector, parseReference } from './reference';
import type { ImageReference } from './reference';
import { RegistryClient } from './registry/client';
import type { RegistryClientOptions } from './registry/client';
import type { ImageRecord, ImageStore } from './store';
import type { ImageLayerState, ImagePullEvent } from '../protocol/images';

/** A pull's milestones and per-layer progress: what the protocol's image.progress carries, as is. */
export type LayerState = ImageLayerState;
export type PullEvent = ImagePullEvent;

export interface PullOptions extends RegistryClientOptions {
  /** Which platform to take from an index (default: this machine's). */
  platform?: Platform;
  /** Progress and milestones; `layer` events with state `downloading` come at most every `progressIntervalMs`. */
  onEvent?: (event: PullEvent) => void;
  progressIntervalMs?: number;
  /** Unpack the layers into directories (default true). */
  unpack?: boolean;
  /** How many layers are fetched at once (default 3, as docker). */
  concurrency?: number;
  /** A client to reuse (its tokens are cached per registry). */
  client?: RegistryClient;
  /**
   * Cancels the pull: a transfer under way is cut (its temporary file deleted), no layer starts
   * unpacking, and the name is not set. Complete, verified blobs stay for the next pull (prune removes them).
   */
  signal?: AbortSignal;
}

export interface PulledLayer {
  digest: Digest;
  diffId: Digest;
  size: number;
  /** True when this pull transferred it; false when it was present or shared with another pull. */
  fetched: boolean;
}

export interface PullResult {
  record: ImageRecord;
  layers: PulledLayer[];
}

/** Pulls `text` (a reference) into `store`; resolves when it is named and (by default) unpacked. */
export async function pullImage(store: ImageStore, text: string, options: PullOptions = {}): Promise<PullResult> {
  const reference = parseReference(text);
  const name = formatReference(reference);
  const familiar = familiarReference(reference);
  const client = options.client ?? new RegistryClient(options);
  const emit = options.onEvent ?? (() => {});
  const wanted = options.platform ?? hostPlatform();
  const lease = store.createLease();
  const stillWanted = (): void => {
    if (options.signal?.aborted) throw pullCancelled(familiar);
  };
  try {
    // 2. the name's target, and the platform's manifest
    const top = await client.fetchManifest(reference, manifestSelector(reference));
    stillWanted();
    const topDocument = parseManifestDocument(top.bytes, top.contentType, `the manifest of ${familiar}`);
    const target: Descriptor = { mediaType: topDocument.mediaType, digest: top.digest, size: top.bytes.length };
    emit({ type: 'resolved', name, digest: top.digest, mediaType: topDocument.mediaType });
    // chosen before anything is stored: an index without this platform leaves nothing behind
    const manifestDescriptor = topDocument.kind === 'index' ? selectPlatformManifest(topDocument, wanted, familiar) : target;
    await lease.protect([top.digest]);
    await store.content.writeBytes(top.bytes, top.digest, `the manifest of ${familiar}`);

    let manifest: ImageManifest;
    if (topDocument.kind === 'manifest') {
      manifest = topDocument;
    } else {
      const fetched = await client.fetchManifest(reference, manifestDescriptor.digest);
      const what = `the ${formatPlatform(wanted)} manifest of ${familiar}`;
      if (fetched.bytes.length !== manifestDescriptor.size) throw badInput(`${what} is ${fetched.bytes.length} bytes, the index says ${manifestDescriptor.size}`);
      const document = parseManifestDocument(fetched.bytes, manifestDescriptor.mediaType, what);
      if (document.kind !== 'manifest') throw badInput(`${what} is another index: nested indexes are not supported`);
      manifest = document;
      await lease.protect([fetched.digest]);
      await store.content.writeBytes(fetched.bytes, fetched.digest, what);
    }
    checkLayerTypes(manifest, familiar);

    // 3. the config
    stillWanted();
    const configWhat = `the config of ${familiar}`;
    await lease.protect([manifest.config.digest]);
    if (manifest.config.size > MAX_DOCUMENT_BYTES) throw badInput(`${configWhat} is ${manifest.config.size} bytes: more than a config may have`);
    await store.content.ingest(manifest.config, async () => (await client.openBlob(reference, manifest.config, configWhat)).stream, configWhat);
    const config = parseImageConfig(store.content.readSmall(manifest.config.digest, MAX_DOCUMENT_BYTES, configWhat), configWhat);
    checkConfig(config, manifest, wanted, familiar, topDocument.kind === 'index' || options.platform !== undefined);
    emit({ type: 'manifest', digest: manifestDescriptor.digest, platform: formatPlatform(wanted), layers: manifest.layers.length, size: manifest.layers.reduce((sum, layer) => sum + layer.size, 0) });

    // 4. the layers
    await lease.protect(manifest.layers.map((layer) => layer.digest), config.rootfs.diff_ids);
    const layers = await fetchLayers(store, client, reference, manifest, config, familiar, emit, options);

    // 5. the name
    stillWanted();
    const record: ImageRecord = {
      name, target, manifest: { mediaType: manifest.mediaType, digest: manifestDescriptor.digest, size: manifestDescriptor.size },
      config: manifest.config.digest, platform: formatPlatform({ os: config.os || wanted.os, architecture: config.architecture || wanted.architecture, ...(config.variant ? { variant: config.variant } : {}) }),
      source: 'pull', updatedAt: new Date().toISOString(),
    };
    await store.setRecord(record);
    emit({ type: 'done', name, digest: target.digest, id: record.config });
    return { record, layers };
  } finally {
    lease.end();
  }
}

async function fetchLayers(
  store: ImageStore, client: RegistryClient, reference: ImageReference, manifest: ImageManifest, config: ImageConfig,
  familiar: string, emit: (event: PullEvent) => void, options: PullOptions,
): Promise<PulledLayer[]> {
  const interval = options.progressIntervalMs ?? 100;
  const results: PulledLayer[] = [];
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && next < manifest.layers.length) {
      const index = next++;
      const layer = manifest.layers[index]!;
      const diffId = config.rootfs.diff_ids[index]!;
      const what = `layer ${index + 1} of ${familiar} (${layer.digest.slice(7, 19)})`;
      const event = (state: LayerState, bytes: number) => emit({ type: 'layer', index, digest: layer.digest, state, bytes, total: layer.size });
      let lastReport = 0;
      if (options.signal?.aborted) throw pullCancelled(familiar);
      const ingested = await store.content.ingest(layer, async () => cutOnAbort((await client.openBlob(reference, layer, what)).stream, options.signal, familiar), what, (bytes) => {
        const now = Date.now();
        if (bytes < layer.size && now - lastReport < interval) return;
        lastReport = now;
        event('downloading', bytes);
      });
      event(ingested.fetched ? 'downloaded' : 'present', layer.size);
      if (options.signal?.aborted) throw pullCancelled(familiar);
      if (options.unpack ?? true) {
        event('unpacking', layer.size);
        await ensureLayerUnpacked(store, layer, diffId, what);
        event('unpacked', layer.size);
      }
      results[index] = { digest: layer.digest, diffId, size: layer.size, fetched: ingested.fetched };
    }
  };
  const guarded = async (): Promise<void> => {
    try {
      await worker();
    } catch (error) {
      stopped = true; // the other workers finish their current layer and take no new one
      throw error;
    }
  };
  manifest.layers.forEach((layer, index) => emit({ type: 'layer', index, digest: layer.digest, state: 'waiting', bytes: 0, total: layer.size }));
  const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 3, manifest.layers.length)) }, guarded);
  // All workers settle before the first failure is reported: no transfer keeps running unseen.
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return results;
}

/** The one line a cancelled pull ends with. */
function pullCancelled(familiar: string): LabError {
  return new LabError('conflict', `pull of ${familiar} cancelled: no name set, no partial layer kept`);
}

/**
 * The blob stream, destroyed (with the cancellation as its error) when `signal` aborts: the
 * content store's writer then deletes its temporary file and rethrows that one line.
 */
function cutOnAbort(stream: Readable, signal: AbortSignal | undefined, familiar: string): Readable {
  if (!signal) return stream;
  const cut = (): void => {
    stream.destroy(pullCancelled(familiar));
  };
  if (signal.aborted) cut();
  else {
    signal.addEventListener('abort', cut, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', cut));
  }
  return stream;
}

/** Refuses, before any layer is fetched, layers this runtime cannot unpack. */
function checkLayerTypes(manifest: ImageManifest, familiar: string): void {
  manifest.layers.forEach((layer, index) => {
    const compression = layerCompression(layer.mediaType);
    if (compression === null) {
      throw new LabError('unsupported', `${familiar}: layer ${index + 1} has media type ${layer.mediaType}: not a Linux filesystem layer this runtime unpacks`);
    }
    if (compression === 'zstd' && typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress !== 'function') {
      throw new LabError('unsupported', `${familiar}: layer ${index + 1} is zstd-compressed, which needs Node 22.15 or later (this is ${process.version})`);
    }
  });
}

function checkConfig(config: ImageConfig, manifest: ImageManifest, wanted: Platform, familiar: string, platformChosen: boolean): void {
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw badInput(`${familiar}: the manifest lists ${manifest.layers.length} layers but the config ${config.rootfs.diff_ids.length} diff IDs`);
  }
  if (config.os && config.os !== wanted.os) throw new LabError('unsupported', `${familiar} is a ${config.os} image: only linux images run here`);
  if (!platformChosen && config.architecture && config.architecture !== wanted.architecture) {
    throw new LabError('unsupported', `${familiar} is built for ${config.architecture}, this host is ${wanted.architecture}: it would not run here`);
  }
}

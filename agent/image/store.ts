/*
 * The image index: names → images, and what the names keep alive.
 *
 * Blobs are anonymous (./content/store.ts); this index gives them names. Each record maps a
 * canonical name — `docker.io/library/alpine:3.20`, or `host/app@sha256:…` when pulled by
 * digest — to the descriptor the registry resolved it to (an index or a manifest), the platform
 * manifest chosen from it, and the config. Everything else (layers, their sizes, history) is
 * read from those blobs, so the index stays small: `<stateRoot>/images/index.json`, rewritten
 * whole, atomically, under a lock shared by every process. Unpacked layers live beside it in
 * `<stateRoot>/images/layers/<diffId hex>/`, named by the digest of the uncompressed tar, so two
 * images with a common base layer share one directory: one overlay lower dir for both.
 *
 * Garbage is what no name reaches: removing an image only drops its name (`rmi`), and `prune`
 * deletes the blobs and layers that no image, no running pull (./leases.ts) and no container
 * (the runtime tells, through a callback) still uses — the mark-and-sweep containerd's GC does.
 */
import { existsSync, fsyncSync, closeSync, openSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LabError, badInput, quote } from '../errors';
import { syncDirectory } from '../kernel/durable-files';
import { ContentStore } from './content/store';
import { withFileLock } from './content/lock';
import { digestHex } from './digest';
import type { Digest } from './digest';
import { Lease, activeLeases } from './leases';
import { MAX_DOCUMENT_BYTES, layerHistory, parseImageConfig, parseManifestDocument } from './manifest';
import type { Descriptor, ImageConfig, ImageManifest } from './manifest';
import { familiarReference, formatReference, parseReference } from './reference';

export interface ImageRecord {
  /** Canonical name: `registry/repository:tag` or `registry/repository@digest`. */
  name: string;
  /** What the name resolved to at the registry or in the archive: an index or a manifest. */
  target: Descriptor;
  /** The manifest for this machine's platform (the target itself when it is one). */
  manifest: Descriptor;
  /** The config's digest: the image ID, as `docker images` shows it. */
  config: Digest;
  platform: string;
  source: 'pull' | 'import';
  updatedAt: string;
}

export interface ImageSummary {
  name: string;
  familiarName: string;
  digest: Digest;
  id: Digest;
  platform: string;
  /** Sum of the (compressed) layer blobs, as the registry transfers them. */
  size: number;
  created: string | null;
}

export interface LayerDetails {
  /** Digest of the blob (compressed, as transferred). */
  digest: Digest;
  /** Digest of the uncompressed tar: names the unpacked directory. */
  diffId: Digest;
  size: number;
  mediaType: string;
  createdBy: string | null;
  created: string | null;
  comment: string | null;
  /** `<stateRoot>/images/layers/<diffId hex>`. */
  directory: string;
  unpacked: boolean;
}

export interface ImageDetails extends ImageSummary {
  manifestDigest: Digest;
  /** Every name that points at the same image ID. */
  names: string[];
  config: ImageConfig;
  layers: LayerDetails[];
}

export interface PruneResult {
  blobs: Digest[];
  layers: string[];
  bytesFreed: number;
}

interface IndexFile {
  version: 1;
  images: Record<string, ImageRecord>;
}

const LAYER_NAME = /^([a-f0-9]{64})(-shifted-[a-z0-9]+)?$/;

export class ImageStore {
  readonly imagesRoot: string;
  readonly content: ContentStore;
  readonly layersDirectory: string;
  private readonly indexPath: string;

  constructor(readonly stateRoot: string) {
    this.imagesRoot = join(stateRoot, 'images');
    this.content = new ContentStore(this.imagesRoot);
    this.layersDirectory = join(this.imagesRoot, 'layers');
    this.indexPath = join(this.imagesRoot, 'index.json');
  }

  layerDirectory(diffId: Digest): string {
    return join(this.layersDirectory, digestHex(diffId));
  }

  /** Runs `body` holding the index lock (every process's writers and prune take it). */
  withIndexLock<T>(body: () => Promise<T>): Promise<T> {
    mkdirSync(this.imagesRoot, { recursive: true, mode: 0o755 });
    return withFileLock(join(this.imagesRoot, 'index.lock'), body);
  }

  /** A lease for a pull or import under way (see ./leases.ts); end it when done. */
  createLease(): Lease {
    return new Lease(join(this.imagesRoot, 'leases'), (body) => this.withIndexLock(body));
  }

  records(): ImageRecord[] {
    return Object.values(this.readIndex().images).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Names `record.name` (replacing what it named before: a tag moves). */
  async setRecord(record: ImageRecord): Promise<void> {
    await this.withIndexLock(async () => {
      const index = this.readIndex();
      index.images[record.name] = record;
      this.writeIndex(index);
    });
  }

  /** The record a user's words name: a reference (`alpine`, `host/app:1`) or an ID prefix (`3f57d9401f8d`). */
  resolve(text: string): ImageRecord {
    const records = this.records();
    const id = /^(?:sha256:)?([a-f0-9]{12,64})$/.exec(text);
    if (id) {
      const matching = records.filter((record) =>
        [record.config, record.manifest.digest, record.target.digest].some((digest) => digestHex(digest).startsWith(id[1]!)));
      const ids = new Set(matching.map((record) => record.config));
      if (ids.size > 1) throw badInput(`${quote(text)} is the start of ${ids.size} image IDs: give more digits`);
      if (matching[0]) return matching[0];
    }
    const reference = parseReference(text);
    const name = formatReference(reference);
    const exact = this.readIndex().images[name];
    if (exact) return exact;
    if (reference.digest !== null) {
      // `app@sha256:…` also finds the image pulled as `app:1` when that is its digest
      const repository = `${reference.registry}/${reference.repository}`;
      const sameRepository = (record: ImageRecord) => record.name.startsWith(`${repository}:`) || record.name.startsWith(`${repository}@`);
      const byDigest = records.find((record) => sameRepository(record) && [record.target.digest, record.manifest.digest].includes(reference.digest!));
      if (byDigest) return byDigest;
    }
    throw new LabError('not-found', `no image ${familiarReference(reference)} here: pull it first (containers-lab pull ${familiarReference(reference)})`);
  }

  list(): ImageSummary[] {
    return this.records().map((record) => this.summary(record, this.manifestOf(record), this.configOf(record)));
  }

  inspect(text: string): ImageDetails {
    const record = this.resolve(text);
    const manifest = this.manifestOf(record);
    const config = this.configOf(record);
    const history = layerHistory(config);
    const layers = manifest.layers.map((layer, index): LayerDetails => {
      const diffId = config.rootfs.diff_ids[index]!;
      const directory = this.layerDirectory(diffId);
      const step = history[index] ?? null;
      return {
        digest: layer.digest, diffId, size: layer.size, mediaType: layer.mediaType,
        createdBy: step?.created_by ?? null, created: step?.created ?? null, comment: step?.comment ?? null,
        directory, unpacked: existsSync(directory),
      };
    });
    const names = this.records().filter((other) => other.config === record.config).map((other) => other.name);
    return { ...this.summary(record, manifest, config), manifestDigest: record.manifest.digest, names, config, layers };
  }

  /**
   * The overlay's lowerdir list for the image: its layer directories, top layer first (overlayfs
   * order). Refused if a layer is not unpacked (an interrupted pull): never a partial stack.
   */
  lowerDirectories(text: string): string[] {
    return this.lowerDirectoriesOf(this.inspect(text));
  }

  /** The same, for an image already inspected. */
  lowerDirectoriesOf(details: ImageDetails): string[] {
    const missing = details.layers.find((layer) => !layer.unpacked);
    if (missing) throw new LabError('not-found', `${details.familiarName}: layer ${missing.diffId} is not unpacked: pull the image again`);
    return details.layers.map((layer) => layer.directory).reverse();
  }

  /** Drops a name (`rmi`); an ID drops every name of that image. Blobs stay until prune. Returns the names removed. */
  async remove(text: string): Promise<string[]> {
    const record = this.resolve(text);
    const byId = /^(?:sha256:)?[a-f0-9]{12,64}$/.test(text);
    return this.withIndexLock(async () => {
      const index = this.readIndex();
      const removed = Object.values(index.images)
        .filter((other) => (byId ? other.config === record.config : other.name === record.name))
        .map((other) => other.name);
      for (const name of removed) delete index.images[name];
      this.writeIndex(index);
      return removed;
    });
  }

  /**
   * Deletes blobs and unpacked layers that no image, no pull under way and no container uses.
   * `containerLayers` lists the lower directories containers stand on (their rootfs.lower).
   */
  async prune(containerLayers: () => Iterable<string> = () => []): Promise<PruneResult> {
    return this.withIndexLock(async () => {
      const keepBlobs = new Set<Digest>();
      const keepLayers = new Set<string>();
      for (const record of this.records()) {
        keepBlobs.add(record.target.digest).add(record.manifest.digest).add(record.config);
        try {
          for (const layer of this.manifestOf(record).layers) keepBlobs.add(layer.digest);
          for (const diffId of this.configOf(record).rootfs.diff_ids) keepLayers.add(digestHex(diffId));
        } catch {
          // a record whose blobs are gone keeps nothing else alive
        }
      }
      const leases = activeLeases(join(this.imagesRoot, 'leases'));
      leases.blobs.forEach((digest) => keepBlobs.add(digest));
      leases.layers.forEach((diffId) => keepLayers.add(digestHex(diffId)));
      const usedPaths = new Set(containerLayers());
      for (const path of usedPaths) {
        const match = LAYER_NAME.exec(basename(path));
        if (match) keepLayers.add(match[1]!);
      }

      const result: PruneResult = { blobs: [], layers: [], bytesFreed: 0 };
      for (const blob of this.content.list()) {
        if (keepBlobs.has(blob.digest)) continue;
        this.content.delete(blob.digest);
        result.blobs.push(blob.digest);
        result.bytesFreed += blob.size;
      }
      if (existsSync(this.layersDirectory)) {
        for (const name of readdirSync(this.layersDirectory)) {
          const removing = /^\.removing-.*-(\d+)$/.exec(name);
          if (removing && !existsSync(`/proc/${removing[1]}`)) rmSync(join(this.layersDirectory, name), { recursive: true, force: true });
          const match = LAYER_NAME.exec(name);
          // Other names belong to the unpacker's work in progress: it tidies its own.
          if (!match || keepLayers.has(match[1]!) || usedPaths.has(join(this.layersDirectory, name))) continue;
          // Renamed away first, so a half-deleted tree never looks like a complete layer.
          const doomed = join(this.layersDirectory, `.removing-${name}-${process.pid}`);
          renameSync(join(this.layersDirectory, name), doomed);
          rmSync(doomed, { recursive: true, force: true });
          result.layers.push(join(this.layersDirectory, name));
        }
      }
      this.content.removeAbandonedPartials();
      return result;
    });
  }

  manifestOf(record: ImageRecord): ImageManifest {
    const what = `the manifest of ${familiarReference(parseReference(record.name))}`;
    const document = parseManifestDocument(this.content.readSmall(record.manifest.digest, MAX_DOCUMENT_BYTES, what), record.manifest.mediaType, what);
    if (document.kind !== 'manifest') throw badInput(`${what} is an index, not a manifest`);
    return document;
  }

  configOf(record: ImageRecord): ImageConfig {
    const what = `the config of ${familiarReference(parseReference(record.name))}`;
    return parseImageConfig(this.content.readSmall(record.config, MAX_DOCUMENT_BYTES, what), what);
  }

  private summary(record: ImageRecord, manifest: ImageManifest, config: ImageConfig): ImageSummary {
    return {
      name: record.name,
      familiarName: familiarReference(parseReference(record.name)),
      digest: record.target.digest,
      id: record.config,
      platform: record.platform,
      size: manifest.layers.reduce((total, layer) => total + layer.size, 0),
      created: config.created ?? null,
    };
  }

  private readIndex(): IndexFile {
    if (!existsSync(this.indexPath)) return { version: 1, images: {} };
    try {
      const parsed = JSON.parse(readFileSync(this.indexPath, 'utf8')) as IndexFile;
      if (parsed.version === 1 && typeof parsed.images === 'object' && parsed.images !== null) return parsed;
    } catch {
      // fall through: a damaged index is reported, never silently emptied
    }
    throw new LabError('conflict', `${this.indexPath} is damaged: move it aside and pull the images again (their blobs are kept)`);
  }

  /** Written whole to a temporary file, synced, renamed over the old index; then the directory synced. */
  private writeIndex(index: IndexFile): void {
    const temporary = `${this.indexPath}.tmp-${process.pid}`;
    const fd = openSync(temporary, 'w', 0o644);
    try {
      const bytes = Buffer.from(`${JSON.stringify(index, null, 2)}\n`);
      for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.indexPath);
    syncDirectory(this.imagesRoot);
  }
}

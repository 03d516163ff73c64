/*
 * The runtime's images: the image store (../image/) seen from the containers that stand on it.
 *
 * The store knows names, blobs and unpacked layers; only the runtime knows which containers use
 * which layers. So this module is where the two meet:
 *   - `run IMAGE` resolves here to the image's layer directories (top first: one overlay lower
 *     dir each, the same directories for every container of the image) and its config;
 *   - "in use" for `image prune` is every layer directory some container's rootfs.lower lists —
 *     read from the records on disk at the moment prune decides (under the store's lock), so a
 *     container another process made a moment ago counts too; one being made holds a lease;
 *   - `image inspect` says which containers use an image, and a container's answer to "which
 *     layer does this path come from" names the layer's digest and build step.
 * A container keeps a copy of its image's layer list (digest, diff ID, created-by) in its own
 * directory, so that answer survives `rmi` and the prune that deletes the image's blobs: the
 * layers themselves stay while a container stands on them.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LabError, conflict } from '../errors';
import type { Digest } from '../image/digest';
import { buildImage, type BuildRequest } from '../image/build';
import { importImages } from '../image/import';
import { parsePlatform } from '../image/platform';
import { pullImage } from '../image/pull';
import { familiarReference, parseReference } from '../image/reference';
import { ImageStore } from '../image/store';
import type { ImageDetails as StoreImageDetails, ImageRecord, ImageSummary } from '../image/store';
import { removeAbandonedPartials } from '../image/unpack';
import type { ImageForRun } from '../oci/from-image';
import { ensureBusyboxImage } from './image/busybox';
import type {
  ImageDetails, ImageListEntry, ImagePruneResult, ImagePullEvent, ImagePullParams, ImagePullResult, PathLayerImageLayer, RootfsRecord,
} from '../protocol';

/** What the runtime tells about its containers: names and the layers they stand on. */
export interface ContainerLayers {
  name: string;
  rootfs: RootfsRecord | null;
}

/** A container's copy of its image's layers (image.json in its directory), top first as rootfs.lower. */
interface SavedImageLayers {
  name: string;
  layers: { directory: string; diffId: string; digest: string; createdBy: string | null }[];
}

const SAVED_LAYERS_FILE = 'image.json';

export class RuntimeImages {
  readonly store: ImageStore;

  constructor(
    stateRoot: string,
    /** Every container's layers, read fresh (from the records on disk) when asked. */
    private readonly containers: () => ContainerLayers[],
    /** Names added or removed: the service tells every client (image.changed). */
    private readonly changed: (names: string[], removed: boolean) => void,
  ) {
    this.store = new ImageStore(stateRoot);
    // A pull the agent did not live to finish left a half-unpacked layer: nothing uses it.
    removeAbandonedPartials(this.store.layersDirectory);
  }

  /**
   * `signal`: cancels the pull (the client cancelled the request); nothing half-stored stays.
   * `dockerConfig`: where credentials come from (default: $DOCKER_CONFIG or ~/.docker/config.json).
   */
  async pull(params: ImagePullParams, onEvent: (event: ImagePullEvent) => void = () => {}, signal?: AbortSignal, dockerConfig?: string): Promise<ImagePullResult> {
    const { record, layers } = await pullImage(this.store, params.reference, {
      ...(dockerConfig !== undefined ? { dockerConfig } : {}),
      ...(params.insecureRegistries ? { insecureRegistries: params.insecureRegistries } : {}),
      ...(params.platform !== undefined ? { platform: parsePlatform(params.platform) } : {}),
      ...(signal ? { signal } : {}),
      onEvent,
    });
    this.changed([record.name], false);
    return { image: this.entry(record), layers: layers.map(({ digest, diffId, size, fetched }) => ({ digest, diffId, size, fetched })) };
  }

  list(): ImageListEntry[] {
    return this.store.list().map(listEntry);
  }

  inspect(reference: string): ImageDetails {
    const details = this.store.inspect(reference);
    // Standing on every layer of the image: a container of another image that only shares the base layer does not count.
    const containers = this.containers()
      .filter((container) => details.layers.every((layer) => (container.rootfs?.lower ?? []).includes(layer.directory)))
      .map((container) => container.name)
      .sort();
    return detailsRecord(details, containers);
  }

  /** `ifUnused`: refuse while a container stands on the image (the CLI's rmi untags regardless; the layers stay). */
  async remove(reference: string, ifUnused = false): Promise<{ removed: string[] }> {
    if (ifUnused) {
      const { familiarName, containers } = this.inspect(reference);
      if (containers.length > 0) {
        const many = containers.length > 1;
        throw conflict(`image ${familiarName} is used by container${many ? 's' : ''} ${containers.join(', ')}: remove ${many ? 'them' : 'it'} first`);
      }
    }
    const removed = await this.store.remove(reference);
    this.changed(removed, true);
    return { removed };
  }

  async prune(): Promise<ImagePruneResult> {
    const result = await this.store.prune(() => this.containers().flatMap((container) => container.rootfs?.lower ?? []));
    return { blobs: result.blobs, layers: result.layers, bytesFreed: result.bytesFreed };
  }

  async import(path: string, name?: string): Promise<{ images: ImageListEntry[] }> {
    const records = await importImages(this.store, path, name !== undefined ? { name } : {});
    this.changed(records.map((record) => record.name), false);
    return { images: records.map((record) => this.entry(record)) };
  }

  /** A small image built here on the busybox tree (the labs' offline images: ../image/build.ts). */
  async build(request: BuildRequest): Promise<{ images: ImageListEntry[] }> {
    const base = ensureBusyboxImage(this.store.stateRoot).path;
    const scratch = join(this.store.imagesRoot, `.build-${process.pid}-${Date.now()}`);
    const records = await buildImage(this.store, base, request, scratch);
    this.changed(records.map((record) => record.name), false);
    return { images: records.map((record) => this.entry(record)) };
  }

  /**
   * `run IMAGE`: the image's layers (top first) and config, with a lease on the layers that the
   * caller ends once the container's record (which lists them) is on disk.
   */
  async forRun(reference: string): Promise<{ image: ImageForRun; layers: StoreImageDetails['layers']; release: () => void }> {
    const details = this.store.inspect(reference);
    const lease = this.store.createLease();
    try {
      await lease.protect([], details.layers.map((layer) => layer.diffId));
      const lower = this.store.lowerDirectoriesOf(details);
      const image: ImageForRun = {
        name: details.name, familiarName: details.familiarName, digest: details.digest, id: details.id,
        config: details.config.config ?? {}, lower,
      };
      return { image, layers: details.layers, release: () => lease.end() };
    } catch (error) {
      lease.end();
      throw error;
    }
  }

  /** Keeps the image's layer list with the container (see the top of this file). */
  saveLayersFor(containerDirectory: string, image: ImageForRun, layers: StoreImageDetails['layers']): void {
    const saved: SavedImageLayers = {
      name: image.name,
      layers: [...layers].reverse().map((layer) => ({ directory: layer.directory, diffId: layer.diffId, digest: layer.digest, createdBy: layer.createdBy })),
    };
    const path = join(containerDirectory, SAVED_LAYERS_FILE);
    writeFileSync(`${path}.tmp`, JSON.stringify(saved, null, 2), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }

  /** The image layers of a container's lower dirs (aligned with rootfs.lower), as the protocol names them. */
  layersOf(containerDirectory: string, lower: readonly string[]): PathLayerImageLayer[] {
    const saved = readSaved(join(containerDirectory, SAVED_LAYERS_FILE));
    return lower.map((directory, lowerIndex): PathLayerImageLayer => {
      const layer = saved?.layers.find((candidate) => candidate.directory === directory);
      const diffId = layer?.diffId ?? diffIdOfDirectory(directory);
      return {
        lowerIndex, number: lower.length - lowerIndex, directory, diffId,
        digest: layer?.digest ?? null, createdBy: layer?.createdBy ?? null,
      };
    });
  }

  private entry(record: ImageRecord): ImageListEntry {
    const summary = this.store.list().find((candidate) => candidate.name === record.name);
    if (!summary) throw new LabError('not-found', `image ${record.name} vanished while it was being named`);
    return listEntry(summary);
  }
}

function listEntry(summary: ImageSummary): ImageListEntry {
  const reference = parseReference(summary.name);
  const repository = familiarReference({ ...reference, tag: null, digest: null });
  return {
    name: summary.name, familiarName: summary.familiarName, repository, tag: reference.tag,
    digest: summary.digest, id: summary.id, platform: summary.platform, size: summary.size, created: summary.created,
  };
}

function detailsRecord(details: StoreImageDetails, containers: string[]): ImageDetails {
  const { manifestDigest, names, config, layers, ...summary } = details;
  return {
    ...listEntry(summary),
    manifestDigest, names,
    architecture: config.architecture, os: config.os, author: config.author ?? null,
    config: config.config ?? {},
    layers: layers.map((layer) => ({
      digest: layer.digest, diffId: layer.diffId, size: layer.size, mediaType: layer.mediaType,
      createdBy: layer.createdBy, created: layer.created, directory: layer.directory, unpacked: layer.unpacked,
    })),
    containers,
  };
}

function readSaved(path: string): SavedImageLayers | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SavedImageLayers;
  } catch {
    return null;
  }
}

/** A layer directory is named by its diff ID's hex digits (`<stateRoot>/images/layers/<hex>`). */
function diffIdOfDirectory(directory: string): string | null {
  const hex = /^([a-f0-9]{64})$/.exec(basename(directory))?.[1];
  return hex ? (`sha256:${hex}` satisfies Digest) : null;
}

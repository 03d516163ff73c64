/*
 * Importing images from files: `docker save` archives and OCI image layouts.
 *
 * Two formats carry images outside a registry:
 *   - an OCI image layout: `oci-layout`, `index.json` (descriptors, named by the annotation
 *     `org.opencontainers.image.ref.name` or containerd's `io.containerd.image.name`) and
 *     `blobs/sha256/<hex>` — the registry's content, as files. As a directory, or as a tar of one
 *     (`skopeo copy … oci-archive:`, Docker 25+'s `docker save`, which adds a manifest.json too);
 *   - a `docker save` archive (Docker before 25): `manifest.json` lists per image its config file,
 *     its `RepoTags` and its layer files (`<id>/layer.tar`, uncompressed); there is no manifest
 *     blob, so one is written here, as containerd does, from the config and the layers.
 * A tar is read once, as a stream (an archive can be gigabytes): each member that is a blob is
 * ingested while it passes — a member named `blobs/sha256/<hex>` is verified against <hex>, any
 * other is named by the digest computed while storing it — and the small JSON files are kept in
 * memory to be read at the end, since `docker save` writes manifest.json last. Blobs this import
 * added but no imported image uses are removed again, and on failure every blob it added is.
 */
import { createReadStream, existsSync, readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { join, posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { LabError, badInput, quote } from '../errors';
import { digestOf, parseDigest } from './digest';
import type { Digest } from './digest';
import { ensureLayerUnpacked } from './layers';
import { MAX_DOCUMENT_BYTES, parseImageConfig, parseManifestDocument } from './manifest';
import type { Descriptor, ImageManifest, Platform } from './manifest';
import { MEDIA_TYPES } from './media-types';
import { formatPlatform, hostPlatform, selectPlatformManifest } from './platform';
import { formatReference, parseReference } from './reference';
import type { ImageRecord, ImageStore } from './store';
import { readTar } from './unpack/tar-reader';

export interface ImportOptions {
  /** The name for an image the archive does not name (or the repository, when it names only a tag). */
  name?: string;
  platform?: Platform;
  /** Unpack the layers (default true). */
  unpack?: boolean;
}

/** What the archive held, read: its small documents by path, and its blobs by path → digest. */
interface ArchiveContents {
  documents: Map<string, Buffer>;
  blobByPath: Map<string, Digest>;
  /** Reads a blob the archive names by path (a directory layout reads lazily; a tar has stored them). */
  blob(path: string): Promise<Digest>;
}

const DOCUMENTS = new Set(['index.json', 'oci-layout', 'manifest.json', 'repositories']);

/** Imports every image `file` (a tar, a gzip'd tar, or an OCI layout directory) holds. */
export async function importImages(store: ImageStore, file: string, options: ImportOptions = {}): Promise<ImageRecord[]> {
  if (!existsSync(file)) throw new LabError('not-found', `${file}: no such file or directory`);
  const lease = store.createLease();
  const added: Digest[] = [];
  try {
    const contents = statSync(file).isDirectory() ? layoutDirectory(store, file, added, lease.protect.bind(lease)) : await readArchive(store, file, added, lease.protect.bind(lease));
    const images = contents.documents.has('index.json') ? await fromOciIndex(store, contents, file, options) : await fromDockerManifest(store, contents, file, options);
    if (images.length === 0) throw badInput(`${file} holds no images`);
    await lease.protect(images.flatMap(({ keep }) => keep), images.flatMap(({ diffIds }) => diffIds));
    for (const image of images) {
      const manifest = store.manifestOf(image.record);
      if (options.unpack ?? true) {
        for (const [index, layer] of manifest.layers.entries()) {
          await ensureLayerUnpacked(store, layer, image.diffIds[index]!, `layer ${index + 1} of ${image.record.name}`);
        }
      }
    }
    for (const image of images) await store.setRecord(image.record);
    const used = new Set(images.flatMap(({ keep }) => keep));
    for (const digest of added.filter((digest) => !used.has(digest))) store.content.delete(digest);
    return images.map(({ record }) => record);
  } catch (error) {
    for (const digest of added) store.content.delete(digest);
    throw error;
  } finally {
    lease.end();
  }
}

interface ImportedImage {
  record: ImageRecord;
  keep: Digest[];
  diffIds: Digest[];
}

function layoutDirectory(store: ImageStore, directory: string, added: Digest[], protect: (blobs: Digest[]) => Promise<void>): ArchiveContents {
  const documents = new Map<string, Buffer>();
  for (const name of DOCUMENTS) {
    const path = join(directory, name);
    if (existsSync(path)) documents.set(name, readFileSync(path));
  }
  if (!documents.has('index.json')) throw badInput(`${directory} is not an OCI image layout (it has no index.json)`);
  return {
    documents,
    blobByPath: new Map(),
    blob: async (path) => {
      const digest = parseDigest(`sha256:${posix.basename(path)}`, `blob ${quote(path)}`);
      const file = join(directory, 'blobs', 'sha256', posix.basename(path));
      if (!existsSync(file)) throw new LabError('not-found', `${directory}: blob ${digest} is missing`);
      await protect([digest]);
      const present = store.content.has(digest);
      await store.content.ingest({ digest, size: statSync(file).size }, () => createReadStream(file), `blob ${digest} of ${directory}`);
      if (!present) added.push(digest);
      return digest;
    },
  };
}

async function readArchive(store: ImageStore, file: string, added: Digest[], protect: (blobs: Digest[]) => Promise<void>): Promise<ArchiveContents> {
  const documents = new Map<string, Buffer>();
  const blobByPath = new Map<string, Digest>();
  const links = new Map<string, string>();
  let stream: NodeJS.ReadableStream = createReadStream(file);
  if (startsWithGzipMagic(file)) stream = stream.pipe(createGunzip());
  try {
    for await (const entry of readTar(stream)) {
      const path = posix.normalize(entry.path.replace(/^\.?\/+/, ''));
      if (entry.type === 'symlink' || entry.type === 'hardlink') {
        // docker save links a repeated layer to its first copy
        links.set(path, entry.type === 'symlink' ? posix.join(posix.dirname(path), entry.linkname) : posix.normalize(entry.linkname));
        continue;
      }
      if (entry.type !== 'file') continue;
      if (DOCUMENTS.has(path)) {
        documents.set(path, await readSmall(entry.body, entry.size, `${file}: ${path}`));
        continue;
      }
      const named = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
      const what = `${file}: ${path}`;
      if (named) {
        const digest = `sha256:${named[1]}` as Digest;
        await protect([digest]);
        const present = store.content.has(digest);
        await store.content.ingest({ digest, size: entry.size }, () => entry.body, what);
        if (!present) added.push(digest);
        blobByPath.set(path, digest);
      } else {
        // a config (`<hex>.json`) or a layer (`<id>/layer.tar`, `<hex>.tar`): which, manifest.json says at the end
        const stored = await store.content.ingestUnverified(entry.body, what);
        await protect([stored.digest]);
        if (stored.added) added.push(stored.digest);
        blobByPath.set(path, stored.digest);
      }
    }
  } catch (error) {
    if (error instanceof LabError) throw error;
    throw badInput(`${file} is not a readable tar archive: ${(error as Error).message.split('\n')[0]}`);
  }
  for (const [path, target] of links) {
    const digest = blobByPath.get(target);
    if (digest) blobByPath.set(path, digest);
  }
  if (!documents.has('index.json') && !documents.has('manifest.json')) {
    throw badInput(`${file} is neither a docker save archive nor an OCI layout (no manifest.json or index.json)`);
  }
  return {
    documents,
    blobByPath,
    blob: async (path) => {
      const digest = blobByPath.get(posix.normalize(path.replace(/^\.?\/+/, '')));
      if (!digest) throw badInput(`${file} names ${quote(path)}, which the archive does not hold`);
      return digest;
    },
  };
}

/** OCI layout: each entry of index.json is an image (or an index of them) with a name. */
async function fromOciIndex(store: ImageStore, contents: ArchiveContents, file: string, options: ImportOptions): Promise<ImportedImage[]> {
  const index = parseManifestDocument(contents.documents.get('index.json')!, MEDIA_TYPES.ociIndex, `${file}: index.json`);
  if (index.kind !== 'index') throw badInput(`${file}: index.json is not an index`);
  const images: ImportedImage[] = [];
  for (const target of index.manifests) {
    const name = nameFor(target, options, file, index.manifests.length);
    const keep: Digest[] = [await contents.blob(blobPath(target.digest))];
    let manifestDescriptor = target;
    let document = parseManifestDocument(store.content.readSmall(target.digest, MAX_DOCUMENT_BYTES, name), target.mediaType, `${file}: ${name}`);
    if (document.kind === 'index') {
      manifestDescriptor = selectPlatformManifest(document, options.platform ?? hostPlatform(), `${file}: ${name}`);
      keep.push(await contents.blob(blobPath(manifestDescriptor.digest)));
      document = parseManifestDocument(store.content.readSmall(manifestDescriptor.digest, MAX_DOCUMENT_BYTES, name), manifestDescriptor.mediaType, `${file}: ${name}`);
      if (document.kind !== 'manifest') throw badInput(`${file}: ${name} nests an index in an index: not supported`);
    }
    const fetch = (digest: Digest) => contents.blob(blobPath(digest));
    images.push(await finishImage(store, fetch, name, { mediaType: target.mediaType, digest: target.digest, size: target.size }, manifestDescriptor, document, keep, options));
  }
  return images;
}

/** docker save: manifest.json names config and layer files; a manifest is made from them. */
async function fromDockerManifest(store: ImageStore, contents: ArchiveContents, file: string, options: ImportOptions): Promise<ImportedImage[]> {
  let entries: unknown;
  try {
    entries = JSON.parse(contents.documents.get('manifest.json')!.toString('utf8'));
  } catch {
    throw badInput(`${file}: manifest.json is not valid JSON`);
  }
  if (!Array.isArray(entries)) throw badInput(`${file}: manifest.json is not a list of images`);
  const images: ImportedImage[] = [];
  for (const [position, entry] of entries.entries()) {
    const item = entry as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof item.Config !== 'string' || !Array.isArray(item.Layers) || item.Layers.some((layer) => typeof layer !== 'string')) {
      throw badInput(`${file}: image ${position + 1} of manifest.json lacks Config or Layers`);
    }
    const configDigest = await contents.blob(item.Config);
    const layers: Descriptor[] = [];
    for (const layerPath of item.Layers as string[]) {
      const digest = await contents.blob(layerPath);
      const size = store.content.sizeOf(digest) ?? 0;
      layers.push({ mediaType: startsWithGzipMagic(store.content.blobPath(digest)) ? MEDIA_TYPES.ociLayerGzip : MEDIA_TYPES.ociLayer, digest, size });
    }
    const manifestBytes = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: store.content.sizeOf(configDigest) ?? 0 },
      layers,
    }));
    const manifestDescriptor: Descriptor = { mediaType: MEDIA_TYPES.ociManifest, digest: digestOf(manifestBytes), size: manifestBytes.length };
    await store.content.writeBytes(manifestBytes, manifestDescriptor.digest, `the manifest made for image ${position + 1} of ${file}`);
    const document = parseManifestDocument(manifestBytes, MEDIA_TYPES.ociManifest, `the manifest made for ${file}`) as ImageManifest;
    const tags = Array.isArray(item.RepoTags) ? item.RepoTags.filter((tag): tag is string => typeof tag === 'string') : [];
    const names = tags.length ? tags : [nameFor(manifestDescriptor, options, file, entries.length)];
    for (const name of names) {
      const canonical = formatReference(parseReference(name));
      // config and layers were stored (and named by their digests) while reading the archive
      images.push(await finishImage(store, async (digest) => digest, canonical, manifestDescriptor, manifestDescriptor, document, [manifestDescriptor.digest], options));
    }
  }
  return images;
}

async function finishImage(
  store: ImageStore, blob: (digest: Digest) => Promise<Digest>, name: string, target: Descriptor, manifestDescriptor: Descriptor,
  manifest: ImageManifest, keep: Digest[], options: ImportOptions,
): Promise<ImportedImage> {
  const what = `${name} (imported)`;
  keep.push(await blob(manifest.config.digest));
  for (const layer of manifest.layers) keep.push(await blob(layer.digest));
  for (const digest of [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)]) {
    if (!store.content.has(digest)) throw badInput(`${what}: blob ${digest} is not in the archive`);
  }
  const config = parseImageConfig(store.content.readSmall(manifest.config.digest, MAX_DOCUMENT_BYTES, `the config of ${what}`), `the config of ${what}`);
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw badInput(`${what}: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff IDs in the config`);
  }
  const wanted = options.platform ?? hostPlatform();
  const platform = formatPlatform({ os: config.os || wanted.os, architecture: config.architecture || wanted.architecture, ...(config.variant ? { variant: config.variant } : {}) });
  const record: ImageRecord = {
    name, target, manifest: { mediaType: manifestDescriptor.mediaType, digest: manifestDescriptor.digest, size: manifestDescriptor.size },
    config: manifest.config.digest, platform, source: 'import', updatedAt: new Date().toISOString(),
  };
  return { record, keep, diffIds: config.rootfs.diff_ids };
}

/** The image's name: containerd's full-name annotation, the OCI ref name (a tag, or a full reference), or the caller's. */
function nameFor(descriptor: Descriptor, options: ImportOptions, file: string, count: number): string {
  const annotations = descriptor.annotations ?? {};
  const full = annotations['io.containerd.image.name'];
  if (full) return formatReference(parseReference(full));
  const refName = annotations['org.opencontainers.image.ref.name'];
  if (refName && /[/]/.test(refName)) return formatReference(parseReference(refName));
  if (options.name) {
    const given = parseReference(options.name);
    const explicitTag = /:[\w][\w.-]*$/.test(options.name.split('/').pop() ?? '');
    return formatReference(refName && !explicitTag && given.digest === null ? { ...given, tag: refName } : given);
  }
  if (refName) throw badInput(`${file} names its image only by the tag ${quote(refName)}: give a repository name to import it as`);
  throw badInput(`${file} does not name ${count > 1 ? 'all its images' : 'its image'}: give a name to import it as`);
}

function blobPath(digest: Digest): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

async function readSmall(body: AsyncIterable<Buffer>, size: number, what: string): Promise<Buffer> {
  if (size > MAX_DOCUMENT_BYTES) throw badInput(`${what} is ${size} bytes: too large for an image document`);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function startsWithGzipMagic(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const magic = Buffer.alloc(2);
    return readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/*
 * Building a small image locally: layers described as files, deletions and opaque directories,
 * stacked on a base tree (the built-in busybox), written as an OCI image layout and imported.
 *
 * The labs need multi-layer images offline — no registry to pull from — with whiteouts and opaque
 * directories in them, as a real build would make (`RUN rm …` leaves `.wh.NAME` in its layer,
 * `RUN rm -rf dir && mkdir dir` an opaque directory). So a layer here is a tar the agent writes
 * (./tar-writer.ts); the rest is the import path every other image takes (./import.ts): digests,
 * content store, unpack, index. The image config records one history entry per layer, so
 * `image inspect` shows a build step ("created by") for each.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { badInput, quote } from '../errors';
import { digestOf } from './digest';
import { importImages } from './import';
import { MEDIA_TYPES } from './media-types';
import { hostPlatform } from './platform';
import type { ImageRecord, ImageStore } from './store';
import { writeTar, type TarEntry } from './tar-writer';

export interface BuildLayer {
  /** Files this layer adds or replaces: path in the image → content. */
  files?: Record<string, string>;
  /** Paths this layer deletes (a whiteout `.wh.NAME` each). */
  delete?: string[];
  /** Directories this layer makes opaque: what lower layers have under them is hidden. */
  opaque?: string[];
  /** The build step, as `image inspect` shows it. */
  createdBy?: string;
}

export interface BuildRequest {
  /** The name to import the image as, e.g. `lab/layers:1`. */
  name: string;
  layers: BuildLayer[];
  /** The run config: Cmd, Env, WorkingDir. */
  config?: { Cmd?: string[]; Env?: string[]; WorkingDir?: string };
}

function imagePath(path: string): string {
  const clean = posix.normalize(`/${path}`).slice(1);
  if (clean === '' || clean.startsWith('..') || path.includes('\0')) throw badInput(`image build: ${quote(path)} is not a path inside the image`);
  return clean;
}

/** Parent directories first, each once: tar readers make them on the way, but modes are ours. */
function withParents(paths: readonly string[], entries: TarEntry[], made: Set<string>): void {
  for (const path of paths) {
    const parts = path.split('/').slice(0, -1);
    for (let index = 1; index <= parts.length; index++) {
      const directory = parts.slice(0, index).join('/');
      if (made.has(directory)) continue;
      made.add(directory);
      entries.push({ type: 'directory', path: directory });
    }
  }
}

function layerEntries(layer: BuildLayer): TarEntry[] {
  const entries: TarEntry[] = [];
  const made = new Set<string>();
  for (const directory of (layer.opaque ?? []).map(imagePath)) {
    withParents([`${directory}/x`], entries, made);
    entries.push({ type: 'file', path: `${directory}/.wh..wh..opq`, content: Buffer.alloc(0) });
  }
  for (const deleted of (layer.delete ?? []).map(imagePath)) {
    withParents([deleted], entries, made);
    entries.push({ type: 'file', path: posix.join(posix.dirname(deleted), `.wh.${posix.basename(deleted)}`), content: Buffer.alloc(0) });
  }
  for (const [path, content] of Object.entries(layer.files ?? {})) {
    const clean = imagePath(path);
    withParents([clean], entries, made);
    entries.push({ type: 'file', path: clean, content: Buffer.from(content, 'utf8') });
  }
  return entries;
}

/** Every entry of a directory tree (the base layer), parents first. */
function treeEntries(root: string, relative = ''): TarEntry[] {
  const entries: TarEntry[] = [];
  for (const name of readdirSync(join(root, relative)).sort()) {
    const path = relative ? `${relative}/${name}` : name;
    const stat = lstatSync(join(root, path));
    if (stat.isSymbolicLink()) entries.push({ type: 'symlink', path, target: readlinkSync(join(root, path)) });
    else if (stat.isDirectory()) entries.push({ type: 'directory', path, mode: stat.mode & 0o7777 }, ...treeEntries(root, path));
    else if (stat.isFile()) entries.push({ type: 'file', path, content: readFileSync(join(root, path)), mode: stat.mode & 0o7777 });
  }
  return entries;
}

/**
 * Builds `request` on the tree at `baseTree` (its first layer, "ADD base /") and imports it into
 * `store` under `request.name`; `scratch` is a directory of the caller's, removed after.
 */
export async function buildImage(store: ImageStore, baseTree: string, request: BuildRequest, scratch: string): Promise<ImageRecord[]> {
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(join(scratch, 'blobs', 'sha256'), { recursive: true });
  try {
    const blob = (bytes: Buffer, mediaType: string) => {
      const digest = digestOf(bytes);
      writeFileSync(join(scratch, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
      return { mediaType, digest, size: bytes.length };
    };
    const tars = [writeTar(treeEntries(baseTree)), ...request.layers.map((layer) => writeTar(layerEntries(layer)))];
    const layers = tars.map((tar) => blob(tar, MEDIA_TYPES.ociLayer));
    const created = '2024-01-01T00:00:00Z';
    const platform = hostPlatform();
    const config = blob(Buffer.from(JSON.stringify({
      created, architecture: platform.architecture, os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'], ...request.config },
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
      history: [{ created, created_by: 'ADD busybox /' }, ...request.layers.map((layer, index) => ({ created, created_by: layer.createdBy ?? `layer ${index + 2}` }))],
    })), MEDIA_TYPES.ociConfig);
    const manifest = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers })), MEDIA_TYPES.ociManifest);
    writeFileSync(join(scratch, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(scratch, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [manifest] }));
    return await importImages(store, scratch, { name: request.name });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

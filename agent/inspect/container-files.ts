/*
 * A container's root filesystem, read from outside the container: what the Files view browses.
 *
 * The container's / is an overlay mount — its image's read-only layers under one writable upper
 * directory — and the merged tree exists only inside the container's mount namespace (and only
 * while it runs). But overlayfs decides every lookup from the layer directories alone, so the
 * merged view can be rebuilt from them (../image/unpack/provenance.ts replays the kernel's walk):
 * a directory's entries are the union of its copies in the layers that take part, each entry
 * shown from the topmost layer that has it, minus what a whiteout deletes, down to the first
 * opaque directory. That works for a stopped container too, and it tells what `ls` cannot: which
 * layer each entry comes from, and what the merge hides.
 *
 * Reading a name someone else chose is where a path can escape. Inside the container a symlink is
 * resolved against the container's /, so it is resolved here the same way, one component at a
 * time over the merged view: an absolute target starts again at the container's root, `..`
 * climbs within it, and a symlink (or a path) that would climb above the root is refused. The
 * file itself is then opened by the kernel with openat2(2) beneath the one layer directory that
 * holds it, refusing any symlink on the way (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): even if the
 * container swaps a directory for a symlink between our look and our open, nothing outside that
 * layer can be read. Reads come in chunks of at most FILES_READ_LIMIT bytes.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { badInput, LabError, notFound, quote } from '../errors';
import { isOpaque, listMerged, provenanceOf } from '../image/unpack/provenance';
import type { LayerRef, LayerStack } from '../image/unpack/provenance';
import { RESOLVE_NO_SYMLINKS } from '../kernel/constants';
import { openBeneath } from '../kernel/directory-fds';
import { FILES_LIST_LIMIT, FILES_READ_LIMIT } from '../protocol/files';
import type { ContainerDirectory, ContainerFileEntry, ContainerFileHidden, ContainerFileRead, ContainerLayers, FileLayer } from '../protocol/files';
import type { PathLayerImageLayer, RootfsRecord } from '../protocol/records';

/** A container's overlay directories and the image layer behind each lower dir (aligned with rootfs.lower). */
export interface ContainerLayerStack {
  id: string;
  name: string;
  image: string;
  rootfs: RootfsRecord;
  layers: PathLayerImageLayer[];
}

/** As many symlinks as Linux follows in one lookup before ELOOP. */
const MAX_SYMLINKS = 40;

/** The container's layers, top first: upper, then the image's. */
export function containerLayers(stack: ContainerLayerStack): ContainerLayers {
  return {
    id: stack.id, name: stack.name, image: stack.image, merged: stack.rootfs.merged,
    layers: [
      { kind: 'upper', directory: stack.rootfs.upper, imageLayer: null },
      ...stack.rootfs.lower.map((directory, index) => ({ kind: 'lower' as const, directory, imageLayer: stack.layers[index] ?? null })),
    ],
  };
}

/** A directory of the merged view (symlinks followed), every entry with its layer, and the names it hides. */
export function listContainerFiles(stack: ContainerLayerStack, path: string): ContainerDirectory {
  const layers = layerStackOf(stack);
  const resolvedPath = resolveInContainer(layers, path, stack.name);
  const answer = provenanceOf(layers, resolvedPath);
  if (answer.state !== 'visible') throw notFound(`${quote(path)} is not in ${stack.name}'s filesystem${answer.state === 'deleted' ? ' (deleted: a whiteout hides it)' : ''}`);
  if (answer.type !== 'directory') throw badInput(`${quote(path)} is a ${answer.type} in ${stack.name}, not a directory`);
  const merged = listMerged(layers, resolvedPath);
  const named = (layer: LayerRef): FileLayer => fileLayer(stack, layer);
  const all: ContainerFileEntry[] = merged.entries.map((entry) => {
    const where = join(entry.layer.directory, entry.path);
    const stat = lstatOrNull(where);
    return {
      name: entry.name, path: entry.path, type: entry.type, size: entry.size, mode: stat?.mode ?? 0,
      layer: named(entry.layer), copiedUp: entry.copiedUp,
      opaque: entry.type === 'directory' && isOpaque(where),
      ...(entry.type === 'symlink' ? { target: readlinkOrEmpty(where) } : {}),
    };
  });
  const shown = new Set(all.map((entry) => entry.name));
  const hidden: ContainerFileHidden[] = merged.deleted.map(({ name, hiddenBy }) => ({
    name, path: childPath(resolvedPath, name), hiddenBy: 'whiteout', byLayer: named(hiddenBy.layer),
  }));
  // An opaque directory at this very path: the names its lower copies have are hidden by it.
  for (const copy of answer.hiddenCopies) {
    if (copy.type !== 'directory' || copy.hiddenBy.kind !== 'opaque-directory' || copy.hiddenBy.path !== resolvedPath) continue;
    for (const name of readdirOrEmpty(join(copy.layer.directory, resolvedPath))) {
      if (shown.has(name) || hidden.some((entry) => entry.name === name) || isWhiteoutAt(join(copy.layer.directory, resolvedPath, name))) continue;
      hidden.push({ name, path: childPath(resolvedPath, name), hiddenBy: 'opaque-directory', byLayer: named(copy.hiddenBy.layer) });
    }
  }
  hidden.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    path, resolvedPath,
    mergedFrom: answer.mergedFrom.map(named),
    opaque: answer.mergedFrom.some((layer) => isOpaque(join(layer.directory, resolvedPath))),
    entries: all.slice(0, FILES_LIST_LIMIT),
    hidden: hidden.slice(0, FILES_LIST_LIMIT),
    truncated: all.length > FILES_LIST_LIMIT || hidden.length > FILES_LIST_LIMIT,
  };
}

/** Up to `length` bytes of a regular file from `offset`, read beneath the layer that shows it. */
export function readContainerFile(stack: ContainerLayerStack, path: string, offset = 0, length = FILES_READ_LIMIT): ContainerFileRead {
  if (!Number.isSafeInteger(offset) || offset < 0) throw badInput(`offset must be a whole number of bytes, not ${quote(offset)}`);
  const wanted = Math.min(Math.max(0, Math.floor(length)), FILES_READ_LIMIT);
  const layers = layerStackOf(stack);
  const resolvedPath = resolveInContainer(layers, path, stack.name);
  const answer = provenanceOf(layers, resolvedPath);
  if (answer.state !== 'visible' || !answer.layer) {
    throw notFound(`${quote(path)} is not in ${stack.name}'s filesystem${answer.state === 'deleted' ? ' (deleted: a whiteout hides it)' : ''}`);
  }
  if (answer.type !== 'file') throw badInput(`${quote(path)} is a ${answer.type} in ${stack.name}, not a regular file: only files can be read`);
  const directory = openSync(answer.layer.directory, constants.O_RDONLY | constants.O_DIRECTORY);
  let fd: number;
  try {
    fd = openBeneath(directory, Buffer.from(resolvedPath.slice(1), 'utf8'), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0, RESOLVE_NO_SYMLINKS);
  } catch (error) {
    throw badInput(`${quote(path)} in ${stack.name}: refused, it does not lead to a file inside the container's layer (${error instanceof Error ? error.message : String(error)})`);
  } finally {
    closeSync(directory);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw badInput(`${quote(path)} in ${stack.name} is not a regular file`);
    if (offset > stat.size) throw badInput(`offset ${offset} is past the end of ${quote(path)} (${stat.size} bytes)`);
    const count = Math.min(wanted, stat.size - offset);
    const buffer = Buffer.alloc(count);
    let done = 0;
    while (done < count) {
      const read = readSync(fd, buffer, done, count - done, offset + done);
      if (read === 0) break;
      done += read;
    }
    return {
      path, resolvedPath, layer: fileLayer(stack, answer.layer), size: stat.size, offset,
      data: buffer.subarray(0, done).toString('base64'), eof: offset + done >= stat.size,
    };
  } finally {
    closeSync(fd);
  }
}

/**
 * `path` with every symlink on the way followed as inside the container (the last one too),
 * over the merged view; refuses a path or a symlink that would climb above the container's root.
 * A name missing on the way is left for the caller to report; one missing before the end is an error.
 */
export function resolveInContainer(layers: LayerStack, path: string, container: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw badInput(`path must be absolute inside the container: ${quote(path)}`);
  let pending = parts(path);
  let resolved: string[] = [];
  let followed = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      if (resolved.length === 0) throw badInput(`${quote(path)} leads out of ${container}'s root filesystem: refused`);
      resolved.pop();
      continue;
    }
    const candidate = `/${[...resolved, part].join('/')}`;
    const answer = provenanceOf(layers, candidate);
    if (answer.state !== 'visible' || !answer.layer) {
      if (pending.length === 0) return candidate;
      throw notFound(`${quote(path)}: ${quote(candidate)} is not in ${container}'s filesystem`);
    }
    if (answer.type !== 'symlink') {
      if (pending.length > 0 && answer.type !== 'directory') throw badInput(`${quote(path)}: ${quote(candidate)} is a ${answer.type}, not a directory`);
      resolved.push(part);
      continue;
    }
    followed += 1;
    if (followed > MAX_SYMLINKS) throw badInput(`${quote(path)}: more than ${MAX_SYMLINKS} symlinks on the way (a loop?)`);
    const target = readlinkOrEmpty(join(answer.layer.directory, candidate));
    if (target === '') throw badInput(`${quote(path)}: the symlink ${quote(candidate)} cannot be read`);
    if (target.startsWith('/')) resolved = [];
    pending = [...parts(target), ...pending];
  }
  return `/${resolved.join('/')}`;
}

function layerStackOf(stack: ContainerLayerStack): LayerStack {
  return { lower: stack.rootfs.lower, upper: stack.rootfs.upper };
}

function fileLayer(stack: ContainerLayerStack, layer: LayerRef): FileLayer {
  if (layer.kind === 'upper') return 'upper';
  const named = stack.layers[layer.index as number];
  if (!named) throw new LabError('conflict', `${stack.name}: lower layer ${String(layer.index)} changed while it was read`);
  return named;
}

/** The components of a path, `.` and empty ones dropped, `..` kept for the walk to judge. */
function parts(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

function childPath(directory: string, name: string): string {
  return directory === '/' ? `/${name}` : `${directory}/${name}`;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function isWhiteoutAt(path: string): boolean {
  const stat = lstatOrNull(path);
  return stat !== null && stat.isCharacterDevice() && stat.rdev === 0;
}

function readlinkOrEmpty(path: string): string {
  try {
    return readlinkSync(path, 'utf8');
  } catch {
    return '';
  }
}

function readdirOrEmpty(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

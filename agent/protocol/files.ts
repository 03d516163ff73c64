/*
 * A container's files over the protocol: its layer stack and its root filesystem, browsed from
 * outside the container (agent/inspect/container-files.ts).
 *
 * The container's / is an overlay: the image's read-only layers (lowerdir, top first) under one
 * writable upper directory. The merged tree is what `ls` inside the container shows; these methods
 * rebuild it from the layer directories themselves, so they work on a stopped container too, and
 * they say for every entry which layer it comes from — `upper` (the container wrote it) or an image
 * layer — and what the merge hides: whiteouts (a deleted name) and opaque directories (a directory
 * that hides every layer's copy below it).
 *
 * Paths are absolute inside the container. A symlink is followed the way it would be inside the
 * container (an absolute target starts at the container's /), and one that leads out of the
 * container's root is refused; a file is read by the kernel beneath its layer directory only
 * (openat2 RESOLVE_BENEATH, no symlinks), never through a host path a name could redirect.
 */
import type { PathLayerImageLayer } from './records';

/** Where an entry comes from: the container's own upper directory, or one image layer. */
export type FileLayer = 'upper' | PathLayerImageLayer;

export type FileEntryType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** One layer of a container's root, top first: upper, then the image's layers from the top one down. */
export interface ContainerLayerInfo {
  kind: 'upper' | 'lower';
  directory: string;
  /** For a lower layer: the image layer (number 1 is the base, as `image inspect` counts). */
  imageLayer: PathLayerImageLayer | null;
}

export interface ContainerLayers {
  id: string;
  name: string;
  /** The image the container was made from (`busybox` or a reference). */
  image: string;
  /** Top first: the upper directory, then rootfs.lower in overlayfs's order. */
  layers: ContainerLayerInfo[];
  merged: string;
}

export interface ContainerFileEntry {
  name: string;
  /** Absolute inside the container. */
  path: string;
  type: FileEntryType;
  size: number;
  /** Permission bits and type, as stat's st_mode. */
  mode: number;
  layer: FileLayer;
  /** From upper while an image layer has the same file: a write in the container copied it up. */
  copiedUp: boolean;
  /** A directory marked opaque in the layer shown: the copies of the lower layers are hidden. */
  opaque: boolean;
  /** For a symlink: where it points (as written in the layer). */
  target?: string;
}

/** A name the merged view does not show because a whiteout or an opaque directory hides it. */
export interface ContainerFileHidden {
  name: string;
  path: string;
  hiddenBy: 'whiteout' | 'opaque-directory';
  /** The layer holding the whiteout or opaque directory. */
  byLayer: FileLayer;
}

export interface ContainerDirectory {
  /** The path asked for. */
  path: string;
  /** Where it led after following symlinks (the same when none was met). */
  resolvedPath: string;
  /** The layers whose copies of this directory are merged, top first. */
  mergedFrom: FileLayer[];
  /** The directory is opaque in one of the layers merged: nothing below that layer shows. */
  opaque: boolean;
  entries: ContainerFileEntry[];
  /** Deleted names: some layer below has them, a whiteout or opaque directory hides them. */
  hidden: ContainerFileHidden[];
  /** More entries than one answer carries (FILES_LIST_LIMIT): the rest are left out. */
  truncated: boolean;
}

export interface ContainerFileRead {
  path: string;
  resolvedPath: string;
  layer: FileLayer;
  /** The file's whole size. */
  size: number;
  offset: number;
  /** The bytes from `offset`, base64. */
  data: string;
  /** True when `data` reaches the end of the file. */
  eof: boolean;
}

/** At most this many bytes per container.files.read (chunks keep each message small). */
export const FILES_READ_LIMIT = 1024 * 1024;
/** At most this many entries per container.files.list answer. */
export const FILES_LIST_LIMIT = 5000;

export interface FileMethods {
  /** The container's layer stack, top first. */
  'container.layers': [{ id: string }, ContainerLayers];
  /** A directory of the container's root (the merged view), each entry with its layer. */
  'container.files.list': [{ id: string; path: string }, ContainerDirectory];
  /** Up to `length` bytes (default and at most FILES_READ_LIMIT) of a regular file from `offset`. */
  'container.files.read': [{ id: string; path: string; offset?: number; length?: number }, ContainerFileRead];
}

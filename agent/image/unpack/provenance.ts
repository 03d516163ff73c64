/*
 * Which layer a path comes from, over a whole stack of layers — read the way overlayfs reads it.
 *
 * A container's root is an overlay mount of N read-only image layers (lowerdir, top first) under
 * one writable upper directory. The kernel answers a lookup of /a/b/c one component at a time:
 * at each step it looks in every layer still taking part, top down, and
 *   - the topmost layer that has the name decides what it is;
 *   - if that is a file (or symlink, device…), the copies below are simply covered;
 *   - a whiteout (a 0:0 character device, what an image's `.wh.NAME` becomes) deletes the name
 *     from every layer below it;
 *   - if it is a directory, the directories of the same name below are merged into it — down to
 *     the first one marked opaque (`trusted.overlay.opaque=y`, what `.wh..wh..opq` becomes), or
 *     the first whiteout or non-directory, which hide everything further down.
 * Only the layers that took part in /a take part in /a/b, so an opaque /a hides /a/b/c of every
 * lower layer, even one that has it.
 *
 * These functions replay that walk over the layer directories themselves (no mount needed, and
 * from outside the container): for one path, which layer shows it, which copies are hidden and
 * by what; for a directory, its merged entries each marked with the layer it comes from. They
 * back the Anatomy's "which layer" answer and a Files view. Not modelled: redirect_dir and
 * metacopy (off in the overlays this project mounts) and the "xwhiteout" form of kernel 6.7+.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { badInput, quote } from '../../errors';
import { lgetxattr } from '../../kernel/directory-fds';
import { OPAQUE_XATTR } from './changeset';

export interface LayerStack {
  /** The image's layer directories, top first (the order of overlayfs's lowerdir). */
  lower: readonly string[];
  /** The container's upper directory, when there is a container. */
  upper?: string | null;
}

export interface LayerRef {
  kind: 'upper' | 'lower';
  /** Index into LayerStack.lower (0 is the top image layer); null for upper. */
  index: number | null;
  directory: string;
}

export type EntryType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** What hides a copy: a whiteout, an opaque directory (at the path or above it), or a copy in a higher layer. */
export interface HiddenBy {
  kind: 'whiteout' | 'opaque-directory' | 'covered';
  layer: LayerRef;
  /** The path of the whiteout, opaque directory or covering copy (an ancestor of the path, or the path). */
  path: string;
}

export interface PathProvenance {
  path: string;
  /** visible: the merged view shows it; deleted: some layer has it but a whiteout or opaque directory hides it. */
  state: 'visible' | 'deleted' | 'absent';
  /** The layer whose copy the merged view shows; null unless visible. */
  layer: LayerRef | null;
  type: EntryType | null;
  size: number | null;
  /** For a directory: every layer whose copy is merged into it, top first (the first is `layer`). */
  mergedFrom: LayerRef[];
  /** Copies in other layers that the merged view does not show, top first, each with what hides it. */
  hiddenCopies: { layer: LayerRef; type: EntryType; hiddenBy: HiddenBy }[];
  /** For state "deleted": the whiteout or opaque directory that hides the topmost copy. */
  deletedBy: HiddenBy | null;
  /** Shown from upper while an image layer has it too: the container changed an image file (copy-up). */
  copiedUp: boolean;
}

export interface MergedEntry {
  name: string;
  path: string;
  type: EntryType;
  size: number;
  /** The layer the merged view shows this entry from. */
  layer: LayerRef;
  /** Shown from upper while a lower layer has it too (not for directories, which merge). */
  copiedUp: boolean;
}

export interface MergedDirectory {
  directory: PathProvenance;
  /** What `ls` in the container shows, sorted by name, each with its layer. */
  entries: MergedEntry[];
  /** Names some layer below has but a whiteout hides (deleted in the layer that holds the whiteout). */
  deleted: { name: string; hiddenBy: HiddenBy }[];
}

export function layersOf(stack: LayerStack): LayerRef[] {
  const lower = stack.lower.map((directory, index): LayerRef => ({ kind: 'lower', index, directory }));
  return stack.upper ? [{ kind: 'upper', index: null, directory: stack.upper }, ...lower] : lower;
}

/** Where `path` (absolute, inside the container) comes from in the stack. */
export function provenanceOf(stack: LayerStack, path: string): PathProvenance {
  const inside = containerPath(path);
  const parts = inside.split('/').filter(Boolean);
  const layers = layersOf(stack);
  const hiddenLayers = new Map<LayerRef, HiddenBy>();
  let taking: { layer: LayerRef; stat: Stats }[] = [];
  for (const layer of layers) {
    const stat = lstatOrNull(layer.directory);
    if (stat?.isDirectory()) taking.push({ layer, stat });
  }

  for (let depth = 1; depth <= parts.length; depth += 1) {
    const prefix = `/${parts.slice(0, depth).join('/')}`;
    const next: { layer: LayerRef; stat: Stats }[] = [];
    let stop: HiddenBy | null = null;
    for (const { layer } of taking) {
      if (stop) {
        hiddenLayers.set(layer, stop);
        continue;
      }
      const stat = lstatOrNull(join(layer.directory, prefix));
      if (!stat) continue;
      if (isWhiteout(stat)) {
        stop = { kind: 'whiteout', layer, path: prefix };
      } else if (next.length > 0 && !stat.isDirectory()) {
        stop = { kind: 'covered', layer: (next[0] as { layer: LayerRef }).layer, path: prefix };
        hiddenLayers.set(layer, stop);
      } else {
        next.push({ layer, stat });
        if (!stat.isDirectory()) stop = { kind: 'covered', layer, path: prefix };
        else if (isOpaque(join(layer.directory, prefix))) stop = { kind: 'opaque-directory', layer, path: prefix };
      }
    }
    const last = depth === parts.length;
    if (!last && !next[0]?.stat.isDirectory()) return hiddenOrAbsent(inside, parts, layers, hiddenLayers);
    if (last && next.length === 0) return hiddenOrAbsent(inside, parts, layers, hiddenLayers);
    taking = next;
  }

  const top = taking[0] as { layer: LayerRef; stat: Stats };
  const type = typeOf(top.stat);
  const hiddenCopies = hiddenCopiesOf(parts, layers, hiddenLayers);
  return {
    path: inside,
    state: 'visible',
    layer: top.layer,
    type,
    size: top.stat.size,
    mergedFrom: type === 'directory' ? taking.map((copy) => copy.layer) : [top.layer],
    hiddenCopies,
    deletedBy: null,
    // Copied up: the upper copy covers an image layer's copy of the same path (not one an opaque directory hides).
    copiedUp: top.layer.kind === 'upper' && type !== 'directory' && hiddenCopies.some((copy) => copy.layer.kind === 'lower' && copy.hiddenBy.kind === 'covered'),
  };
}

/** A directory of the merged view, each entry marked with the layer it comes from. */
export function listMerged(stack: LayerStack, path: string): MergedDirectory {
  const directory = provenanceOf(stack, path);
  if (directory.state !== 'visible') throw badInput(`${quote(directory.path)} is not in the container's filesystem`);
  if (directory.type !== 'directory') throw badInput(`${quote(directory.path)} is not a directory`);
  const shown = new Map<string, MergedEntry & { merging: boolean }>();
  const whiteouts = new Map<string, HiddenBy>();
  const deleted = new Map<string, HiddenBy>();

  for (const layer of directory.mergedFrom) {
    const where = join(layer.directory, directory.path);
    for (const name of readdirSync(where)) {
      const entryPath = posix.join(directory.path, name);
      const stat = lstatOrNull(join(where, name));
      if (!stat) continue;
      const whiteout = whiteouts.get(name);
      const earlier = shown.get(name);
      if (whiteout) {
        if (!isWhiteout(stat)) deleted.set(name, whiteout);
      } else if (earlier) {
        // A lower copy under a shown one: it merges into a directory, or is covered.
        if (earlier.type !== 'directory') earlier.copiedUp ||= earlier.layer.kind === 'upper' && layer.kind === 'lower';
        else if (earlier.merging && (!stat.isDirectory() || isOpaque(join(where, name)))) earlier.merging = false;
      } else if (isWhiteout(stat)) {
        whiteouts.set(name, { kind: 'whiteout', layer, path: entryPath });
      } else {
        const type = typeOf(stat);
        const merging = type === 'directory' && !isOpaque(join(where, name));
        shown.set(name, { name, path: entryPath, type, size: stat.size, layer, copiedUp: false, merging });
      }
    }
  }
  const entries = [...shown.values()]
    .map(({ merging: _merging, ...entry }) => entry)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { directory, entries, deleted: [...deleted].map(([name, hiddenBy]) => ({ name, hiddenBy })).sort((a, b) => (a.name < b.name ? -1 : 1)) };
}

/** No layer shows the path: "deleted" when a whiteout or opaque directory hides a copy some layer has. */
function hiddenOrAbsent(path: string, parts: string[], layers: LayerRef[], hiddenLayers: Map<LayerRef, HiddenBy>): PathProvenance {
  const hiddenCopies = hiddenCopiesOf(parts, layers, hiddenLayers);
  const deletedBy = hiddenCopies.find((copy) => copy.hiddenBy.kind !== 'covered')?.hiddenBy ?? null;
  return {
    path, state: deletedBy ? 'deleted' : 'absent', layer: null, type: null, size: null,
    mergedFrom: [], hiddenCopies, deletedBy, copiedUp: false,
  };
}

function hiddenCopiesOf(parts: string[], layers: LayerRef[], hiddenLayers: Map<LayerRef, HiddenBy>): PathProvenance['hiddenCopies'] {
  const copies: PathProvenance['hiddenCopies'] = [];
  for (const layer of layers) {
    const hiddenBy = hiddenLayers.get(layer);
    const stat = hiddenBy ? copyIn(layer, parts) : null;
    if (hiddenBy && stat && !isWhiteout(stat)) copies.push({ layer, type: typeOf(stat), hiddenBy });
  }
  return copies;
}

/** The layer's own copy of the path, reached through real directories only (never a symlink); null if none. */
function copyIn(layer: LayerRef, parts: string[]): Stats | null {
  let current = layer.directory;
  for (const [index, part] of parts.entries()) {
    current = join(current, part);
    const stat = lstatOrNull(current);
    if (!stat) return null;
    if (index === parts.length - 1) return stat;
    if (!stat.isDirectory()) return null;
  }
  return lstatOrNull(layer.directory);
}

function containerPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw badInput(`path must be absolute inside the container: ${quote(path)}`);
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function isWhiteout(stat: Stats): boolean {
  return stat.isCharacterDevice() && stat.rdev === 0;
}

/** True when `directory` (a layer's own copy) is marked opaque: overlayfs merges nothing from below it. */
export function isOpaque(directory: string): boolean {
  return lgetxattr(directory, OPAQUE_XATTR)?.toString('latin1') === 'y';
}

function typeOf(stat: Stats): EntryType {
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isCharacterDevice()) return 'char';
  if (stat.isBlockDevice()) return 'block';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isSocket()) return 'socket';
  return 'file';
}

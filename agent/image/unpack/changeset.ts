/*
 * What a layer's tar members mean: the OCI image spec's "changeset".
 *
 * A layer is not a whole filesystem but the difference from the layers below it. Added and
 * changed files are simply members of the tar. A deletion cannot be a member (there is nothing to
 * archive), so the spec borrows AUFS's convention of marker files:
 *
 *   - a "whiteout" `dir/.wh.NAME` means: NAME in the layers below is deleted;
 *   - an "opaque whiteout" `dir/.wh..wh..opq` means: every entry the layers below have in `dir`
 *     is hidden — the directory was deleted and made again (`rm -rf dir && mkdir dir`).
 *   - other `.wh..wh.*` names are reserved (AUFS's hard-link directories) and are ignored.
 *
 * overlayfs says the same things differently, and the unpacker writes the overlayfs form so that
 * the unpacked directory can be an overlay lower layer as it is: a whiteout is a character device
 * numbered 0:0 named NAME, and an opaque directory carries the extended attribute
 * `trusted.overlay.opaque=y`. A whiteout hides only what the layers *below* have: an entry the
 * same layer also writes is kept (the spec says a layer's own files are hidden only by later layers).
 *
 * Names are checked here too. A member's name is relative to the layer's root; an absolute
 * name, or one whose ".." climbs above the root, is refused (the kernel-side check for symlinks
 * is the writer's, see ./layer-writer.ts).
 */
import { quote } from '../../errors';
import { readable, type TarEntry } from './tar-reader';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const RESERVED_PREFIX = '.wh..wh.';

/** The overlayfs form of an opaque directory. */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

export type Change =
  /** An ordinary member: create or replace `path` (a normalised byte string; '' is the root). */
  | { kind: 'entry'; path: string; entry: TarEntry }
  /** Delete `name` of `directory` from the layers below: a 0:0 character device. */
  | { kind: 'whiteout'; directory: string; name: string; entry: TarEntry }
  /** Hide everything the layers below have in `directory`. */
  | { kind: 'opaque'; directory: string; entry: TarEntry }
  | { kind: 'ignored'; path: string };

/** A layer path that breaks the rules: the message is one line and names the member. */
export class LayerPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayerPathError';
  }
}

/**
 * A member's name normalised to "a/b/c" (byte string; '' for the root): "./" and empty parts
 * dropped, "a/../b" folded to "b" (as Docker and containerd read it). Refused: absolute names,
 * names that climb out of the root, and names containing a NUL byte.
 */
export function layerPath(raw: string, what = 'tar entry'): string {
  if (raw.includes('\0')) throw new LayerPathError(`${what} ${quote(readable(raw))} contains a NUL byte`);
  if (raw.startsWith('/')) throw new LayerPathError(`${what} ${quote(readable(raw))} is an absolute path: layer entries are relative to the layer's root`);
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw new LayerPathError(`${what} ${quote(readable(raw))} escapes the layer directory`);
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts.join('/');
}

export function splitPath(path: string): { directory: string; name: string } {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? { directory: '', name: path } : { directory: path.slice(0, slash), name: path.slice(slash + 1) };
}

export function classify(entry: TarEntry): Change {
  const path = layerPath(entry.path);
  const { directory, name } = splitPath(path);
  if (name === OPAQUE_MARKER) return { kind: 'opaque', directory, entry };
  if (name.startsWith(RESERVED_PREFIX)) return { kind: 'ignored', path };
  if (name.startsWith(WHITEOUT_PREFIX)) {
    const hidden = name.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') {
      throw new LayerPathError(`whiteout ${quote(readable(entry.path))} names no file`);
    }
    return { kind: 'whiteout', directory, name: hidden, entry };
  }
  return { kind: 'entry', path, entry };
}

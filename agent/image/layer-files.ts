/*
 * Reading an image's files from its layer directories, as a container would see them — without
 * mounting anything, and without ever reaching a host file.
 *
 * Before a container of an image exists, the agent needs a few of its files: /etc/passwd and
 * /etc/group to turn `User: nginx` into a uid, and the directories of PATH to find the program
 * to run. The files are spread over N layer directories, so "the image's /etc/passwd" is the
 * copy the merged view shows (./unpack/provenance.ts replays overlayfs's lookup for that), and a
 * symlink in the image (`/bin → usr/bin`, `/etc/passwd → ../usr/share/base-passwd/passwd`) means
 * a path *inside the container's root*, so it is followed here, in that view, one component at
 * a time — never by the host's kernel, for whom `/etc/passwd` in a link is the host's own file.
 *
 * And the last step, opening the file, is done with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
 * from the layer's directory descriptor: even a layer changed under us cannot make that open
 * leave the layer or follow a link.
 */
import { fstatSync, readSync } from 'node:fs';
import { posix } from 'node:path';
import { badInput, quote } from '../errors';
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, RESOLVE_NO_SYMLINKS } from '../kernel/constants';
import { openBeneath } from '../kernel/directory-fds';
import { closeFd, openFile } from '../kernel/files';
import { check, declare } from '../kernel/libc';
import { provenanceOf } from './unpack/provenance';
import type { LayerRef, LayerStack, PathProvenance } from './unpack/provenance';

/** Linux's limit on symlinks followed in one lookup (MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

export interface ResolvedPath {
  /** The path with every symlink on the way replaced by its target (absolute, normalised). */
  path: string;
  /** Where that path comes from; state "absent" when some component is missing or not a directory. */
  provenance: PathProvenance;
}

/**
 * Resolves `path` in the merged view of `stack` the way the kernel would inside the container:
 * symlinks in every component (and in the last one too, when `followLast`) are followed, an
 * absolute target starting again from the container's root, `..` never climbing above it.
 */
export function resolveInStack(stack: LayerStack, path: string, followLast = true): ResolvedPath {
  if (!path.startsWith('/')) throw badInput(`path must be absolute inside the container: ${quote(path)}`);
  let pending = path.split('/').filter((part) => part !== '' && part !== '.');
  let resolved = '/';
  let links = 0;
  let provenance = provenanceOf(stack, '/');
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved = posix.dirname(resolved);
      provenance = provenanceOf(stack, resolved);
      continue;
    }
    const next = posix.join(resolved, part);
    provenance = provenanceOf(stack, next);
    if (provenance.state !== 'visible') return { path: posix.join(next, ...pending), provenance };
    const last = pending.length === 0;
    if (provenance.type === 'symlink' && (!last || followLast)) {
      if (++links > MAX_SYMLINKS) throw badInput(`${quote(path)}: too many levels of symbolic links in the image`);
      const target = readLinkInLayer(provenance.layer!, next);
      pending = [...target.split('/').filter((item) => item !== '' && item !== '.'), ...pending];
      if (target.startsWith('/')) resolved = '/';
      continue;
    }
    if (!last && provenance.type !== 'directory') {
      const missing = posix.join(next, ...pending);
      return { path: missing, provenance: { path: missing, state: 'absent', layer: null, type: null, size: null, mergedFrom: [], hiddenCopies: [], deletedBy: null, copiedUp: false } };
    }
    resolved = next;
  }
  return { path: resolved, provenance };
}

/** The bytes of a regular file of the merged view (symlinks followed in the view); null if there is none. */
export function readFileInStack(stack: LayerStack, path: string, maxBytes: number): Buffer | null {
  const { path: resolved, provenance } = resolveInStack(stack, path);
  if (provenance.state !== 'visible' || provenance.type !== 'file' || !provenance.layer) return null;
  const fd = openInLayer(provenance.layer, resolved, O_RDONLY | O_NOFOLLOW);
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw badInput(`${path} in the image is ${size} bytes: more than the ${maxBytes} read here`);
    const buffer = Buffer.alloc(size);
    let offset = 0;
    while (offset < size) {
      const count = readSync(fd, buffer, offset, size - offset, offset);
      if (count === 0) break;
      offset += count;
    }
    return buffer.subarray(0, offset);
  } finally {
    closeFd(fd);
  }
}

/** For a PATH search: is there something at `path` in the view (links followed) that is not a directory? */
export function existsInStack(stack: LayerStack): (pathInContainer: string) => boolean {
  return (pathInContainer) => {
    try {
      const { provenance } = resolveInStack(stack, pathInContainer);
      return provenance.state === 'visible' && provenance.type !== 'directory';
    } catch {
      return false;
    }
  };
}

/** Opens `path` (absolute in the container) within one layer: beneath its directory, no symlink followed anywhere. */
function openInLayer(layer: LayerRef, path: string, flags: number): number {
  const directory = openFile(layer.directory, O_RDONLY | O_DIRECTORY);
  try {
    const relative = path.replace(/^\/+/, '') || '.';
    return openBeneath(directory, Buffer.from(relative), flags, 0, RESOLVE_NO_SYMLINKS);
  } finally {
    closeFd(directory);
  }
}

const readlinkat_ = declare('long readlinkat(int dirfd, const char *path, _Out_ uint8_t *buf, size_t size)');

/** The target of the symlink at `path` in `layer`, read from a descriptor of the link itself. */
function readLinkInLayer(layer: LayerRef, path: string): string {
  const fd = openInLayer(layer, path, O_PATH | O_NOFOLLOW);
  try {
    const buffer = Buffer.alloc(4096);
    // An empty name with an O_PATH descriptor of a symlink reads that symlink (readlinkat(2), since 2.6.39).
    const length = Number(check('readlinkat', path, readlinkat_(fd, '', buffer, buffer.length) as number));
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeFd(fd);
  }
}

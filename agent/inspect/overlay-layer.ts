/*
 * Which overlay layer a path in a container comes from.
 *
 * An overlay mount merges read-only lower directories (the image's layers, top first) under one
 * writable upper directory (this container's changes). Looking a path up, the kernel takes the
 * upper copy when there is one, else the topmost layer that has it — unless a whiteout (a
 * character device numbered 0:0, what `rm` in the container or an image's `.wh.NAME` leaves)
 * or an opaque directory (`.wh..wh..opq` in an image) hides the copies below. Writing to a file
 * that only a lower layer has first copies it up, whole, into the upper directory ("copy-up").
 * So the answer to "where does /etc/hostname come from?" can be read straight off the
 * directories, without entering the container: ../image/unpack/provenance.ts replays the
 * kernel's walk over any number of layers, and this module turns its answer into the protocol's
 * PathLayer, naming the image layer (its digest and the build step that made it).
 *
 * Note the two orders: overlayfs's lowerdir (and rootfs.lower) lists the top layer first, while
 * an image's manifest lists its base layer first — `imageLayer.number` counts as the manifest does.
 */
import { join } from 'node:path';
import type { PathLayer, PathLayerImageLayer, RootfsRecord } from '../protocol';
import { provenanceOf } from '../image/unpack/provenance';
import type { HiddenBy, LayerRef } from '../image/unpack/provenance';

/**
 * Where `path` comes from in `rootfs`. `layers` describes each lower directory (aligned with
 * rootfs.lower); without it the layers are named by their place alone.
 */
export function pathLayer(rootfs: RootfsRecord, path: string, layers?: readonly PathLayerImageLayer[]): PathLayer {
  const answer = provenanceOf({ lower: rootfs.lower, upper: rootfs.upper }, path);
  const inside = answer.path;
  const imageLayer = (index: number): PathLayerImageLayer => layers?.[index] ?? {
    lowerIndex: index, number: rootfs.lower.length - index, directory: rootfs.lower[index]!, diffId: null, digest: null, createdBy: null,
  };
  const named = (layer: LayerRef): 'upper' | PathLayerImageLayer => (layer.kind === 'upper' ? 'upper' : imageLayer(layer.index!));
  const lowerCopies = [
    ...answer.mergedFrom.filter((layer) => layer.kind === 'lower'),
    ...answer.hiddenCopies.filter((copy) => copy.layer.kind === 'lower').map((copy) => copy.layer),
  ];
  const firstLower = lowerCopies.sort((a, b) => a.index! - b.index!)[0];
  const base = {
    path: inside,
    upperPath: join(rootfs.upper, inside),
    lowerPath: firstLower ? join(firstLower.directory, inside) : null,
    inLower: firstLower !== undefined,
    type: answer.type,
    hiddenCopies: answer.hiddenCopies
      .filter((copy) => copy.layer.kind === 'lower')
      .map((copy) => ({ layer: imageLayer(copy.layer.index!), hiddenBy: copy.hiddenBy.kind, byLayer: named(copy.hiddenBy.layer), path: copy.hiddenBy.path })),
  };

  if (answer.state === 'absent') return { ...base, layer: 'absent', size: null };
  if (answer.state === 'deleted') {
    const by = answer.deletedBy as HiddenBy;
    const hidden = answer.hiddenCopies[0]?.type ?? null;
    return {
      ...base, layer: 'deleted', size: null, type: hidden,
      deletedBy: { kind: by.kind === 'opaque-directory' ? 'opaque-directory' : 'whiteout', path: by.path, layer: named(by.layer) },
    };
  }
  const shown = answer.layer as LayerRef;
  const mergedFrom = answer.type === 'directory' ? { mergedFrom: answer.mergedFrom.map(named) } : {};
  if (shown.kind === 'upper') return { ...base, ...mergedFrom, layer: 'upper', copiedUp: answer.copiedUp, size: answer.size };
  return { ...base, ...mergedFrom, layer: 'lower', lowerIndex: shown.index!, imageLayer: imageLayer(shown.index!), size: answer.size };
}

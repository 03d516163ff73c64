/*
 * What the Images view shows, computed from the agent's image records — without 'vscode', so the
 * rules are unit-tested in plain Node and the tree nodes only dress them up.
 *
 * An image is a name (repository:tag) pointing at a manifest: a config (what a container of it
 * runs) and a stack of layers, each a tar of what one build step added, changed or deleted. The
 * agent unpacks each layer once into a directory; every container of the image stacks those
 * directories, read-only, as its overlay's lower layers. So an image node unfolds into its layers
 * (base first, as `image inspect` lists them: size and the build step that made it) and the
 * containers standing on them.
 */
import type { ImageDetails, ImageLayerInfo, ImageListEntry } from '../../../agent/protocol';
import { formatBytes, type Row } from '../containers/model';

/** `sha256:0123456789ab…` → `0123456789ab`: the 12 hex digits Docker shows. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** `alpine:3.20`, `127.0.0.1:5000/lab/app:1`, or `repo@sha256:0123…` for a digest-only name. */
export function imageLabel(image: Pick<ImageListEntry, 'familiarName' | 'repository' | 'tag' | 'digest'>): string {
  if (image.tag !== null) return `${image.repository}:${image.tag}`;
  return `${image.repository}@${shortDigest(image.digest)}`;
}

/** "sha256:0123456789ab · 2.1 MiB": the digest the name resolved to and the layers' size. */
export function imageDescription(image: Pick<ImageListEntry, 'digest' | 'size'>): string {
  return `${shortDigest(image.digest)} · ${formatBytes(image.size)}`;
}

export function imageTooltip(image: ImageListEntry): string {
  return [
    image.name,
    `digest: ${image.digest}`,
    `image ID: ${image.id}`,
    `platform: ${image.platform}`,
    `size: ${formatBytes(image.size)} (layers as transferred)`,
    image.created ? `created: ${image.created}` : undefined,
  ].filter((line): line is string => line !== undefined).join('\n');
}

/** Images in a stable order: by label. */
export function sortImages(images: readonly ImageListEntry[]): ImageListEntry[] {
  return [...images].sort((a, b) => imageLabel(a).localeCompare(imageLabel(b)));
}

/** `/bin/sh -c #(nop) ADD file:… in /` → `ADD file:… in /`: the build step as a Dockerfile says it. */
export function buildStep(createdBy: string | null): string {
  if (!createdBy) return 'build step not recorded';
  return createdBy.replace(/^\/bin\/sh -c #\(nop\)\s+/, '').replace(/^\/bin\/sh -c\s+/, 'RUN ').replace(/\s+/g, ' ').trim();
}

/** One row per layer, base first: "layer 1 · 0123456789ab", described by size and build step. */
export function layerRows(layers: readonly ImageLayerInfo[]): Row[] {
  return layers.map((layer, index) => ({
    key: `layer${index + 1}`,
    label: `layer ${index + 1} · ${shortDigest(layer.digest)}`,
    description: `${formatBytes(layer.size)} · ${buildStep(layer.createdBy)}`,
    tooltip: [
      `digest: ${layer.digest}`,
      `diff ID: ${layer.diffId} (the uncompressed tar)`,
      `size: ${formatBytes(layer.size)} (${layer.mediaType})`,
      `created by: ${layer.createdBy ?? '(not recorded)'}`,
      `unpacked in: ${layer.directory}${layer.unpacked ? '' : ' (not unpacked yet)'}`,
    ].join('\n'),
    icon: 'layers',
  }));
}

/** The containers standing on the image's layers, or why there are none. */
export function usedByRows(details: Pick<ImageDetails, 'containers'>): Row[] {
  if (details.containers.length === 0) return [{ key: 'none', label: 'no container uses this image', icon: 'info' }];
  return details.containers.map((name) => ({ key: `container:${name}`, label: name, description: 'stands on these layers', icon: 'vm' }));
}

/*
 * What the Files node shows of a container's root filesystem (the merged view the agent rebuilds
 * from the overlay's layers: agent/inspect/container-files.ts) — without 'vscode', so it is tested
 * in plain Node. Every entry says where it comes from: `upper` (the container wrote it, or a
 * write copied it up from the image) or the image layer that holds it, numbered base-first as the
 * Images view and `image inspect` number them. Names a whiteout or an opaque directory hides are
 * listed too, struck out in words: "deleted by a whiteout in layer 2".
 */
import type { ContainerDirectory, ContainerFileEntry, ContainerFileHidden, FileLayer } from '../../../agent/protocol';
import { formatBytes } from './model';

/** "upper" or "layer 2 · 0123456789ab" (the busybox image's single layer has no digest). */
export function fileLayerText(layer: FileLayer): string {
  if (layer === 'upper') return 'upper';
  return layer.digest ? `layer ${layer.number} · ${layer.digest.replace(/^sha256:/, '').slice(0, 12)}` : `layer ${layer.number}`;
}

/** The codicon for an entry's type. */
export function fileIcon(entry: Pick<ContainerFileEntry, 'type'>): string {
  switch (entry.type) {
    case 'directory':
      return 'folder';
    case 'symlink':
      return 'file-symlink-file';
    case 'file':
      return 'file';
    default:
      return 'circuit-board';
  }
}

/** `passwd → ../usr/share/accounts/passwd` for a symlink, the name otherwise. */
export function fileLabel(entry: Pick<ContainerFileEntry, 'name' | 'type' | 'target'>): string {
  return entry.type === 'symlink' && entry.target !== undefined ? `${entry.name} → ${entry.target}` : entry.name;
}

/** "upper · copied up · 12 B", "layer 2 · 0123456789ab · opaque". */
export function fileDescription(entry: ContainerFileEntry): string {
  const parts = [fileLayerText(entry.layer)];
  if (entry.copiedUp) parts.push('copied up');
  if (entry.opaque) parts.push('opaque');
  if (entry.type === 'file') parts.push(formatBytes(entry.size));
  else if (entry.type !== 'directory' && entry.type !== 'symlink') parts.push(entry.type);
  return parts.join(' · ');
}

export function fileTooltip(entry: ContainerFileEntry): string {
  const layer = entry.layer === 'upper'
    ? 'the container\'s upper directory (written in the container)'
    : `image layer ${entry.layer.number}${entry.layer.createdBy ? `, made by: ${entry.layer.createdBy}` : ''}\n${entry.layer.directory}`;
  return [
    entry.path,
    `${entry.type}, mode ${(entry.mode & 0o7777).toString(8).padStart(4, '0')}${entry.type === 'file' ? `, ${formatBytes(entry.size)}` : ''}`,
    `from ${layer}`,
    entry.copiedUp ? 'copied up: the image has it too, a write in the container copied it into upper first' : undefined,
    entry.opaque ? 'opaque: the copies of this directory in the layers below are hidden' : undefined,
  ].filter((line): line is string => line !== undefined).join('\n');
}

/** "deleted: whiteout in layer 2", "hidden: opaque directory in upper". */
export function hiddenDescription(hidden: ContainerFileHidden): string {
  return hidden.hiddenBy === 'whiteout' ? `deleted: whiteout in ${fileLayerText(hidden.byLayer)}` : `hidden: opaque directory in ${fileLayerText(hidden.byLayer)}`;
}

/** The directory's own line: where its merged copies come from. */
export function directorySummary(directory: ContainerDirectory): string {
  const layers = directory.mergedFrom.map(fileLayerText).join(' + ');
  return `${directory.entries.length} entries from ${layers}${directory.opaque ? ' (opaque)' : ''}${directory.truncated ? ' — more not shown' : ''}`;
}

/** `containers-lab-file://<container id>/etc/passwd`'s parts, as the read-only file system takes them. */
export const CONTAINER_FILE_SCHEME = 'containers-lab-file';

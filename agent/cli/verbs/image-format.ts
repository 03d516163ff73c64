/*
 * How images read on a terminal: `images` as Docker's table, `image inspect` as a page a learner
 * reads top to bottom — what the image runs (its config), then its layers from the base up, each
 * with the build step that made it. `--json` prints the protocol's objects instead, unchanged.
 */
import type { ImageDetails, ImageListEntry, ImagePruneResult } from '../../protocol';
import { ago, table } from '../format';

/** Bytes as Docker prints them: 1000-based, one decimal ("5.6MB", "812kB", "42B"). */
export function humanSize(bytes: number): string {
  const units: [number, string][] = [[1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB']];
  for (const [size, unit] of units) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(bytes >= size * 100 ? 0 : 1))}${unit}`;
  }
  return `${bytes}B`;
}

/** `sha256:3f57d9401f8d…` → `3f57d9401f8d`: an ID as `docker images` shows it. */
export function shortImageId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

export function imageTable(images: ImageListEntry[], now = Date.now()): string {
  const rows = images.map((image) => [
    image.repository,
    image.tag ?? '<none>',
    image.digest,
    shortImageId(image.id),
    image.created ? ago(image.created, now) : '-',
    humanSize(image.size),
  ]);
  return table(['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'], rows);
}

export function imageDetailsText(image: ImageDetails): string {
  const config = image.config;
  const list = (values: readonly string[] | null | undefined): string => (values && values.length ? JSON.stringify(values) : '-');
  const lines: [string, string][] = [
    ['Name', image.familiarName],
    ['Other names', image.names.filter((name) => name !== image.name).join(', ') || '-'],
    ['Digest', image.digest],
    ['Manifest', image.manifestDigest],
    ['Image ID', image.id],
    ['Platform', image.platform],
    ['Created', image.created ?? '-'],
    ['Size', `${humanSize(image.size)} in ${image.layers.length} layer${image.layers.length === 1 ? '' : 's'} (compressed)`],
    ['Entrypoint', list(config.Entrypoint)],
    ['Cmd', list(config.Cmd)],
    ['WorkingDir', config.WorkingDir || '/'],
    ['User', config.User || 'root (0)'],
    ['Env', (config.Env ?? []).join('\n') || '-'],
    ['Labels', Object.entries(config.Labels ?? {}).map(([key, value]) => `${key}=${value}`).join('\n') || '-'],
    ['ExposedPorts', Object.keys(config.ExposedPorts ?? {}).join(', ') || '-'],
    ['Containers', image.containers.join(', ') || '-'],
  ];
  const width = Math.max(...lines.map(([label]) => label.length)) + 1;
  const head = lines
    .map(([label, value]) => value.split('\n').map((line, index) => `${index === 0 ? `${label}:`.padEnd(width) : ' '.repeat(width)}  ${line}`).join('\n'))
    .join('\n');
  const layers = table(
    ['#', 'DIGEST', 'SIZE', 'CREATED BY'],
    image.layers.map((layer, index) => [String(index + 1), layer.digest, humanSize(layer.size), oneLine(layer.createdBy ?? '-')]),
  );
  return `${head}\n\nLayers, base first (an overlay lists them top first):\n${layers}`;
}

export function pruneText(result: ImagePruneResult): string {
  const lines = [
    ...result.layers.map((layer) => `deleted layer ${layer}`),
    ...result.blobs.map((blob) => `deleted blob ${blob}`),
    `Total reclaimed space: ${humanSize(result.bytesFreed)}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** A build step on one line: `RUN a && \\\n b` reads as `RUN a && b`. */
function oneLine(text: string): string {
  const flat = text.replace(/\\?\s*\n\s*/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > 100 ? `${flat.slice(0, 99)}…` : flat;
}

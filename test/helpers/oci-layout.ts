/*
 * Test images built from scratch as OCI image layouts, the way any image builder does it:
 * a directory tree → a tar made by GNU tar → gzip → blobs named by their SHA-256, a config
 * naming each layer's diff ID (the digest of the uncompressed tar), a manifest naming the config
 * and the layers, optionally an index (manifest list) with one manifest per platform, and
 * index.json tagging them. Nothing here comes from our own code: skopeo pushes these layouts to
 * a real registry, and what the agent pulls back is checked against the digests computed here.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type TreeEntry =
  | string
  | { text: string; mode?: number }
  | { symlink: string }
  | { hardlink: string }
  | { directory: true; mode?: number };

/** Creates files under `root`: text, symlinks, hard links (to an earlier path) and directories. */
export function makeTree(root: string, entries: Record<string, TreeEntry>): void {
  mkdirSync(root, { recursive: true });
  for (const [path, entry] of Object.entries(entries)) {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    if (typeof entry === 'string') writeFileSync(target, entry);
    else if ('text' in entry) {
      writeFileSync(target, entry.text);
      if (entry.mode !== undefined) chmodSync(target, entry.mode);
    } else if ('symlink' in entry) symlinkSync(entry.symlink, target);
    else if ('hardlink' in entry) linkSync(join(root, entry.hardlink), target);
    else {
      mkdirSync(target, { recursive: true });
      if (entry.mode !== undefined) chmodSync(target, entry.mode);
    }
  }
}

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
}

export interface Layer extends Blob {
  diffId: string;
}

export interface Image {
  manifest: Blob & { platform: { architecture: string; os: string; variant?: string } };
  config: Blob;
  layers: Layer[];
}

export type ManifestFormat = 'oci' | 'docker';

const TYPES = {
  oci: {
    index: 'application/vnd.oci.image.index.v1+json',
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
    layer: 'application/vnd.oci.image.layer.v1.tar',
  },
  docker: {
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
    layer: 'application/vnd.docker.image.rootfs.diff.tar',
  },
} as const;

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export interface ImageOptions {
  layers: Layer[];
  architecture?: string;
  variant?: string;
  format?: ManifestFormat;
  /** The config's `config` part: Entrypoint, Cmd, Env, WorkingDir, User, Labels… */
  runConfig?: Record<string, unknown>;
  /** `created_by` of each layer, in order (empty-layer steps are added between them). */
  createdBy?: string[];
}

export class OciLayout {
  readonly tags: { descriptor: Blob & { platform?: unknown }; name: string }[] = [];

  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    this.writeIndex();
  }

  blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  addBlob(bytes: Buffer | string, mediaType: string): Blob {
    const digest = sha256(bytes);
    writeFileSync(this.blobPath(digest), bytes);
    return { mediaType, digest, size: Buffer.byteLength(bytes) };
  }

  /** A layer from the files under `tree`, made with GNU tar (and gzip -n unless `compression` is none). */
  addLayer(tree: string, options: { compression?: 'gzip' | 'none'; format?: ManifestFormat } = {}): Layer {
    const types = TYPES[options.format ?? 'oci'];
    const tarFile = join(this.dir, `layer-${process.pid}.tar`);
    const members = readdirSync(tree).sort();
    execFileSync('tar', ['--create', '--format=gnu', '--sort=name', '--numeric-owner', '--owner=0', '--group=0',
      '--mtime=@1700000000', '--file', tarFile, '--directory', tree, '--', ...members]);
    const tar = readFileSync(tarFile);
    const diffId = sha256(tar);
    rmSync(tarFile);
    if (options.compression === 'none') return { ...this.addBlob(tar, types.layer), diffId };
    const gzipped = execFileSync('gzip', ['-n', '-c'], { input: tar, maxBuffer: 1 << 30 });
    return { ...this.addBlob(gzipped, types.layerGzip), diffId };
  }

  /** Config + manifest for `layers`; returns the manifest's descriptor (with its platform) and the parts. */
  addImage(options: ImageOptions): Image {
    const format = options.format ?? 'oci';
    const types = TYPES[format];
    const architecture = options.architecture ?? 'amd64';
    const history = options.layers.flatMap((_, index) => [
      { created: '2024-01-01T00:00:00Z', created_by: options.createdBy?.[index] ?? `/bin/sh -c #(nop) ADD layer ${index + 1}` },
      { created: '2024-01-01T00:00:00Z', created_by: `/bin/sh -c #(nop) ENV STEP=${index + 1}`, empty_layer: true },
    ]);
    const config = this.addBlob(JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture,
      ...(options.variant ? { variant: options.variant } : {}),
      os: 'linux',
      config: options.runConfig ?? { Cmd: ['/bin/sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: options.layers.map((layer) => layer.diffId) },
      history,
    }), types.config);
    const layerType = (layer: Layer) => (layer.mediaType.endsWith('gzip') ? types.layerGzip : types.layer);
    const manifest = this.addBlob(JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config,
      layers: options.layers.map((layer) => ({ mediaType: layerType(layer), digest: layer.digest, size: layer.size })),
    }), types.manifest);
    const platform = { architecture, os: 'linux', ...(options.variant ? { variant: options.variant } : {}) };
    return { manifest: { ...manifest, platform }, config, layers: options.layers };
  }

  /** An index (Docker: manifest list) of `images`, each entry carrying its platform. */
  addIndex(images: Image[], format: ManifestFormat = 'oci'): Blob {
    const types = TYPES[format];
    return this.addBlob(JSON.stringify({
      schemaVersion: 2,
      mediaType: types.index,
      manifests: images.map((image) => ({ mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size, platform: image.manifest.platform })),
    }), types.index);
  }

  /** Names `descriptor` in index.json (`org.opencontainers.image.ref.name`), as skopeo's `oci:DIR:NAME` reads it. */
  tag(descriptor: Blob, name: string): void {
    this.tags.push({ descriptor: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size }, name });
    this.writeIndex();
  }

  private writeIndex(): void {
    const index = {
      schemaVersion: 2,
      mediaType: TYPES.oci.index,
      manifests: this.tags.map(({ descriptor, name }) => ({ ...descriptor, annotations: { 'org.opencontainers.image.ref.name': name } })),
    };
    writeFileSync(join(this.dir, 'index.json.tmp'), JSON.stringify(index));
    renameSync(join(this.dir, 'index.json.tmp'), join(this.dir, 'index.json'));
  }
}

/**
 * Pushes `oci:DIR:TAG` to `docker://DESTINATION` with Debian's skopeo; `--all` keeps every platform
 * of an index. As pushed, the digests are ours (`--preserve-digests`); with `dockerFormat` skopeo
 * converts to Docker schema 2 (an index becomes a Docker manifest list), so the manifests' digests
 * are skopeo's while the layers stay byte for byte.
 */
export function pushWithSkopeo(layoutDir: string, tag: string, destination: string, options: { dockerFormat?: boolean; credentials?: string } = {}): void {
  const format = options.dockerFormat ? ['--format', 'v2s2'] : ['--preserve-digests'];
  const credentials = options.credentials ? ['--dest-creds', options.credentials] : [];
  execFileSync('skopeo', ['copy', '--quiet', '--all', '--dest-tls-verify=false', ...format, ...credentials, `oci:${layoutDir}:${tag}`, `docker://${destination}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

/*
 * Media types: how a blob says what it is.
 *
 * Every pointer between blobs (a *descriptor*: mediaType, digest, size) carries the media type
 * of what it points to, and a registry answers a manifest request with the type in Content-Type.
 * Two families name the same four things, because Docker's "schema 2" came first and the OCI
 * image spec standardised it with new names:
 *   - an index (Docker: manifest list) — one manifest per platform (amd64, arm64, …);
 *   - a manifest — one image for one platform: its config and its layers, bottom first;
 *   - a config — the image's JSON: Entrypoint, Cmd, Env, the diff IDs of the layers, history;
 *   - a layer — a tar archive of the files it adds, changes or deletes, usually gzip-compressed.
 * A client lists the types it understands in Accept; a registry that has only Docker schema 1
 * (signed, long obsolete) would otherwise answer with it.
 */
export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
} as const;

/** Sent as Accept on every manifest request: indexes first, so a multi-platform image comes back as a list. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
].join(', ');

export function isIndexType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerManifestList;
}

export function isManifestType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest;
}

export function isSchema1(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.dockerSchema1 || mediaType === MEDIA_TYPES.dockerSchema1Signed;
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/**
 * How a layer blob is compressed, by its media type; null for a type that is not a filesystem
 * layer this runtime can use (Windows "foreign" layers, artefacts such as signatures).
 */
export function layerCompression(mediaType: string): LayerCompression | null {
  switch (mediaType) {
    case MEDIA_TYPES.ociLayer:
    case MEDIA_TYPES.ociLayerNondistributable:
    case MEDIA_TYPES.dockerLayer:
      return 'none';
    case MEDIA_TYPES.ociLayerGzip:
    case MEDIA_TYPES.dockerLayerGzip:
    case MEDIA_TYPES.ociLayerNondistributableGzip:
      return 'gzip';
    case MEDIA_TYPES.ociLayerZstd:
      return 'zstd';
    default:
      return null;
  }
}

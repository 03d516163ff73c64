/*
 * Which decompressor a layer needs, read off its media type.
 *
 * A manifest lists each layer as a descriptor whose media type says what the blob is: a tar
 * archive, usually compressed. OCI and Docker name the same things differently:
 *   application/vnd.oci.image.layer.v1.tar            uncompressed tar
 *   application/vnd.oci.image.layer.v1.tar+gzip       gzip (Docker: …rootfs.diff.tar.gzip)
 *   application/vnd.oci.image.layer.v1.tar+zstd       zstd
 * The registry's digest is of the blob as stored (compressed); the image config's diff_ids are
 * of the tar inside. Node 20's zlib has gzip but no zstd, so zstd layers are refused by name.
 */
import { excerpt, LabError } from '../../errors';

export type Compression = 'gzip' | 'none';

const GZIP = new Set([
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);
const UNCOMPRESSED = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.docker.image.rootfs.diff.tar',
]);

/** The compression of a layer of `mediaType`; a one-line LabError for zstd and for anything that is not a layer. */
export function compressionOf(mediaType: string): Compression {
  if (GZIP.has(mediaType)) return 'gzip';
  if (UNCOMPRESSED.has(mediaType)) return 'none';
  if (typeof mediaType === 'string' && /\+zstd$|\.zstd$/.test(mediaType)) {
    return unsupported(`layer media type ${shown(mediaType)} is zstd-compressed, which this agent cannot decompress (Node has no zstd): pull an image with gzip layers`);
  }
  return unsupported(`media type ${shown(mediaType)} is not a filesystem layer this agent can unpack (expected a tar, tar+gzip or Docker rootfs.diff.tar.gzip layer)`);
}

function unsupported(message: string): never {
  throw new LabError('unsupported', message);
}

/** The media type as sent, quoted, long enough to read whole (they run to ~60 characters). */
function shown(mediaType: unknown): string {
  return typeof mediaType === 'string' ? JSON.stringify(excerpt(mediaType, 100)) : String(mediaType);
}

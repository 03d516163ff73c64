/*
 * Which decompressor a layer needs, read off its media type.
 *
 * A manifest lists each layer as a descriptor whose media type says what the blob is: a tar
 * archive, usually compressed (the table is in ../media-types.ts). The registry's digest is of
 * the blob as stored (compressed); the image config's diff_ids are of the tar inside. Node 20's
 * zlib has gzip but no zstd, so zstd layers are refused by name.
 */
import { excerpt, LabError } from '../../errors';
import { layerCompression } from '../media-types';

export type Compression = 'gzip' | 'none';

/** The compression of a layer of `mediaType`; a one-line LabError for zstd and for anything that is not a layer. */
export function compressionOf(mediaType: string): Compression {
  const compression = typeof mediaType === 'string' ? layerCompression(mediaType) : null;
  if (compression === 'gzip' || compression === 'none') return compression;
  if (compression === 'zstd') {
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

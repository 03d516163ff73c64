/*
 * From layer blob to layer directory, once per layer on the machine.
 *
 * A layer blob (a compressed tar) becomes a directory the overlay can stack:
 * `<stateRoot>/images/layers/<diffId hex>/`, named by the digest of the *uncompressed* tar so
 * that images sharing a base layer share its directory. The unpacker (./unpack/) reads the blob
 * from the content store, turns whiteouts into overlayfs whiteouts, verifies the diff ID while
 * streaming and puts the directory in place atomically — so a directory under that name is
 * always complete, and "already unpacked?" is one existsSync.
 *
 * As with blobs, two pulls sharing a layer unpack it once: in this process by sharing the
 * promise, across processes by a flock'ed lock file per diff ID (./content/lock.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { badInput } from '../errors';
import { withFileLock } from './content/lock';
import { digestHex, shortDigest } from './digest';
import type { Digest } from './digest';
import type { Descriptor } from './manifest';
import type { ImageStore } from './store';
import { unpackLayer } from './unpack';

const unpacking = new Map<string, Promise<boolean>>();

/**
 * Makes sure the layer `diffId` (from blob `layer`, already in the content store) is unpacked.
 * Resolves to true when this call unpacked it, false when it was there or another caller did.
 */
export async function ensureLayerUnpacked(store: ImageStore, layer: Descriptor, diffId: Digest, what: string): Promise<boolean> {
  const directory = store.layerDirectory(diffId);
  if (existsSync(directory)) return false;
  const running = unpacking.get(directory);
  if (running) {
    await running;
    return false;
  }
  const work = (async () => {
    mkdirSync(store.layersDirectory, { recursive: true, mode: 0o755 });
    mkdirSync(store.content.ingestDirectory, { recursive: true, mode: 0o700 });
    return withFileLock(join(store.content.ingestDirectory, `layer-${digestHex(diffId)}.lock`), async () => {
      if (existsSync(directory)) return false;
      const result = await unpackLayer(store.content.openRead(layer.digest), {
        targetDirectory: directory,
        mediaType: layer.mediaType,
        digest: layer.digest,
        diffId,
      });
      if (result.diffId !== diffId) {
        throw badInput(`${what}: its uncompressed content has digest ${shortDigest(result.diffId as Digest)}…, not the config's diff ID ${shortDigest(diffId)}…`);
      }
      return true;
    });
  })();
  unpacking.set(directory, work);
  try {
    return await work;
  } finally {
    unpacking.delete(directory);
  }
}

/*
 * Unpacking one image layer: from a (compressed) tarball to a directory overlayfs can stack.
 *
 * An image is a stack of layers; each layer is a tar archive of the files it adds, changes or
 * deletes (deletions written as `.wh.` marker files, see ./changeset.ts), usually gzip-compressed.
 * Two digests pin it: the registry names the blob by the SHA-256 of its compressed bytes (the
 * manifest's `digest`), and the image config lists the SHA-256 of the uncompressed tar (its
 * `diff_id`). Both are computed here while the bytes stream through — download → hash →
 * gunzip → hash → tar reader → files — so no layer and no file is ever held in memory.
 *
 * A layer that does not match its digests, is malformed, or tries to write outside its directory
 * must leave nothing usable behind. So everything is written into a private sibling directory,
 * `<target>.partial-<pid>-<random>`, renamed to the target only after both digests matched (a
 * rename is atomic: the target either does not exist or is complete), and removed on any error.
 * A crash mid-unpack leaves only a `.partial-` directory, which nothing uses and
 * removeAbandonedPartials() clears.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { badInput, LabError } from '../../errors';
import { hasErrno } from '../../kernel/errors';
import { TruncatedError } from './byte-source';
import { classify, LayerPathError } from './changeset';
import { LayerWriter } from './layer-writer';
import { compressionOf, type Compression } from './media-type';
import { TarFormatError } from './tar-header';
import { readTar } from './tar-reader';

export { listMerged, provenanceOf, type LayerRef, type LayerStack, type MergedDirectory, type MergedEntry, type PathProvenance } from './provenance';

export interface UnpackOptions {
  /** Where the layer's directory is to be; it must not exist yet (or be an empty directory). */
  targetDirectory: string;
  /** The descriptor's media type: tar, tar+gzip (OCI or Docker); zstd and anything else are refused. */
  mediaType: string;
  /** `sha256:…` of the blob as it streams in (compressed). */
  digest: string;
  /** `sha256:…` of the uncompressed tar (the image config's rootfs.diff_ids entry), checked when given. */
  diffId?: string;
  /** syncfs(2) before the rename, so a crash cannot leave a complete-looking layer with empty files (default true). */
  durable?: boolean;
}

export interface UnpackedLayer {
  /** `sha256:…` of the uncompressed tar. */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
  /** Bytes of the blob as it streamed in. */
  compressedSize: number;
  /** Tar members applied (files, directories, links, whiteouts…). */
  entries: number;
  /** What the filesystem could not keep (e.g. an xattr it does not support); empty normally. */
  warnings: string[];
}

const PARTIAL_MARK = '.partial-';

export async function unpackLayer(source: NodeJS.ReadableStream, options: UnpackOptions): Promise<UnpackedLayer> {
  let compression: Compression;
  let digest: string;
  let diffId: string | null;
  const target = resolve(options.targetDirectory);
  const partial = `${target}${PARTIAL_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    compression = compressionOf(options.mediaType);
    digest = expectedDigest(options.digest, 'digest');
    diffId = options.diffId === undefined ? null : expectedDigest(options.diffId, 'diffId');
    mkdirSync(dirname(target), { recursive: true });
    mkdirSync(partial, { mode: 0o700 });
  } catch (error) {
    destroy(source); // never read: release what it holds (a file descriptor, a connection)
    throw error;
  }

  let writer: LayerWriter | null = null;
  try {
    writer = new LayerWriter(partial);
    const layer = writer;
    const compressed = new StreamDigest();
    const uncompressed = compression === 'gzip' ? new StreamDigest() : compressed;
    const unpack = async (tar: AsyncIterable<unknown>): Promise<void> => {
      for await (const entry of readTar(tar)) await layer.apply(classify(entry));
    };
    if (compression === 'gzip') await pipeline(source, compressed.stage, createGunzip(), uncompressed.stage, unpack);
    else await pipeline(source, compressed.stage, unpack);

    const gotDigest = compressed.digest();
    if (gotDigest !== digest) {
      throw badInput(`the blob's sha256 is ${short(gotDigest)}, not ${short(digest)}: the download is corrupt or is not this layer`);
    }
    const gotDiffId = uncompressed.digest();
    if (diffId !== null && gotDiffId !== diffId) {
      throw badInput(`the uncompressed tar's sha256 is ${short(gotDiffId)}, not the image config's diff ID ${short(diffId)}`);
    }
    layer.finish(options.durable ?? true);
    writer = null;
    layer.close();
    publish(partial, target);
    return { diffId: gotDiffId, size: uncompressed.bytes, compressedSize: compressed.bytes, entries: layer.entries, warnings: layer.warnings };
  } catch (error) {
    writer?.close();
    rmSync(partial, { recursive: true, force: true });
    throw inLayer(error, digest);
  }
}

function destroy(source: NodeJS.ReadableStream): void {
  const stream = source as NodeJS.ReadableStream & { destroy?: () => void };
  if (typeof stream.destroy === 'function') stream.destroy();
}

/**
 * Removes `.partial-` directories in `parentDirectory` left by unpacks whose process is gone
 * (the agent was killed mid-unpack); returns their paths. Partials of live processes stay.
 */
export function removeAbandonedPartials(parentDirectory: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parentDirectory);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = /\.partial-(\d+)-[0-9a-f]{8}$/.exec(name);
    if (!match || existsSync(`/proc/${match[1]}`)) continue;
    rmSync(join(parentDirectory, name), { recursive: true, force: true });
    removed.push(join(parentDirectory, name));
  }
  return removed;
}

/** SHA-256 and byte count of what flows through `stage`, a pass-through pipeline step. */
class StreamDigest {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  readonly stage = (chunks: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> => this.pass(chunks);

  private async *pass(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      // A stream with an encoding set hands on text: its bytes are no longer the blob's bytes.
      if (typeof chunk === 'string') throw new TypeError('the layer stream yields text, not bytes (was setEncoding called on it?)');
      this.hash.update(chunk);
      this.bytes += chunk.length;
      yield chunk;
    }
  }

  private finished: string | null = null;

  /** The digest of everything that passed (the hash can be finalised once; later calls repeat it). */
  digest(): string {
    this.finished ??= `sha256:${this.hash.digest('hex')}`;
    return this.finished;
  }
}

function expectedDigest(value: string, what: string): string {
  if (typeof value === 'string' && /^sha256:[a-f0-9]{64}$/.test(value)) return value;
  throw badInput(`layer ${what} ${JSON.stringify(String(value).slice(0, 80))} is not a sha256 digest (sha256: and 64 lowercase hex digits)`);
}

function short(digest: string): string {
  return `${digest.slice(0, 'sha256:'.length + 12)}…`;
}

/** Renames the finished partial directory into place; a target a concurrent unpack finished first is kept. */
function publish(partial: string, target: string): void {
  try {
    renameSync(partial, target);
  } catch (error) {
    // Only complete, verified layers are ever renamed into place, so one that is there is as good as ours.
    if (!hasErrno(error, 'ENOTEMPTY') && !hasErrno(error, 'EEXIST')) throw error;
    rmSync(partial, { recursive: true, force: true });
  }
}

/** Any failure as one line that names the layer; malformed or hostile content is the user's "bad input". */
function inLayer(error: unknown, digest: string): Error {
  const prefix = `layer ${short(digest)}: `;
  if (error instanceof LabError) return new LabError(error.kind, prefix + error.message);
  if (error instanceof TarFormatError || error instanceof TruncatedError || error instanceof LayerPathError) {
    return badInput(prefix + error.message);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'Z_BUF_ERROR') return badInput(`${prefix}the gzip stream ends early: the blob is truncated`);
  if (code === 'Z_DATA_ERROR') return badInput(`${prefix}the blob is not valid gzip data (${(error as Error).message})`);
  const message = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(prefix + message.split('\n')[0]), { cause: error, code });
}


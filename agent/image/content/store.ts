/*
 * The content store: every blob of every image, one file per digest.
 *
 * `<stateRoot>/images/blobs/sha256/<hex>` holds the bytes whose SHA-256 is <hex> — manifests,
 * configs and compressed layers alike, as containerd's content store does. Because the name is
 * the hash, a blob is never rewritten, two images sharing a base layer share its file, and
 * "is it here?" is one stat. New blobs arrive through `ingest` (./ingest.ts verifies while
 * streaming into `<stateRoot>/images/ingest/`), so a blob under blobs/ is always complete.
 *
 * Fetching once: a pull asks `ingest(digest, open)`. If the blob is present, `open` is never
 * called. If this process is already fetching it, the caller joins that transfer (and hears its
 * progress; if that transfer fails — the pull that started it was cancelled, say — the joiners
 * fetch it afresh). If another process is, the caller waits on that digest's lock file
 * (./lock.ts) and then finds the blob present. Only the lock holder opens the source.
 */
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { syncDirectory } from '../../kernel/durable-files';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { LabError, badInput } from '../../errors';
import { digestHex, isDigest } from '../digest';
import type { Digest } from '../digest';
import { writeVerified } from './ingest';
import type { ByteSource, ProgressListener, WrittenBlob } from './ingest';
import { withFileLock } from './lock';

export type { ProgressListener } from './ingest';

export interface IngestResult extends WrittenBlob {
  /** False when the blob was already present or another caller fetched it: `open` was not called here. */
  fetched: boolean;
}

export interface BlobInfo {
  digest: Digest;
  size: number;
}

interface Transfer {
  done: Promise<WrittenBlob & { fetched: boolean }>;
  listeners: Set<ProgressListener>;
}

/** Temporary files of a transfer under way: `<hex or "import">.<pid>.<random>.partial`. */
const PARTIAL_SUFFIX = '.partial';

export class ContentStore {
  readonly blobsDirectory: string;
  readonly ingestDirectory: string;
  private readonly transfers = new Map<Digest, Transfer>();

  /** `imagesRoot` is `<stateRoot>/images`. */
  constructor(readonly imagesRoot: string) {
    this.blobsDirectory = join(imagesRoot, 'blobs', 'sha256');
    this.ingestDirectory = join(imagesRoot, 'ingest');
  }

  blobPath(digest: Digest): string {
    return join(this.blobsDirectory, digestHex(digest));
  }

  /** The blob's size when present, else null. */
  sizeOf(digest: Digest): number | null {
    try {
      return statSync(this.blobPath(digest)).size;
    } catch {
      return null;
    }
  }

  has(digest: Digest): boolean {
    return this.sizeOf(digest) !== null;
  }

  /** A small blob (a manifest, a config) whole; refused above `limit` bytes so it cannot exhaust memory. */
  readSmall(digest: Digest, limit: number, what: string): Buffer {
    const size = this.sizeOf(digest);
    if (size === null) throw new LabError('not-found', `${what} (${digest}) is not in the content store`);
    if (size > limit) throw badInput(`${what} is ${size} bytes: more than the ${limit} a manifest or config may have`);
    return readFileSync(this.blobPath(digest));
  }

  /** The blob as a stream (a layer, for unpacking). */
  openRead(digest: Digest): Readable {
    if (!this.has(digest)) throw new LabError('not-found', `blob ${digest} is not in the content store`);
    return createReadStream(this.blobPath(digest));
  }

  list(): BlobInfo[] {
    if (!existsSync(this.blobsDirectory)) return [];
    return readdirSync(this.blobsDirectory)
      .map((hex) => `sha256:${hex}`)
      .filter(isDigest)
      .map((digest) => ({ digest, size: this.sizeOf(digest) ?? 0 }));
  }

  delete(digest: Digest): void {
    try {
      unlinkSync(this.blobPath(digest));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /**
   * Makes sure the blob `digest` (of `size` bytes when known) is present, fetching it with
   * `open` only if no one has it or is fetching it. `what` names it in errors.
   */
  async ingest(
    expected: { digest: Digest; size: number | null },
    open: () => Promise<ByteSource> | ByteSource,
    what: string,
    onProgress?: ProgressListener,
  ): Promise<IngestResult> {
    const present = this.presentBlob(expected.digest, expected.size, what);
    if (present) {
      onProgress?.(present.size, present.size);
      return { ...present, fetched: false };
    }
    const running = this.transfers.get(expected.digest);
    if (running) {
      if (onProgress) running.listeners.add(onProgress);
      try {
        return { ...(await running.done), fetched: false };
      } catch {
        // The transfer was another pull's, and that pull may have been cancelled: its end is not
        // ours. Fetch the blob afresh (or join whoever is fetching it now).
      } finally {
        if (onProgress) running.listeners.delete(onProgress);
      }
      return this.ingest(expected, open, what, onProgress);
    }
    const listeners = new Set<ProgressListener>(onProgress ? [onProgress] : []);
    const tell: ProgressListener = (bytes, total) => listeners.forEach((listener) => listener(bytes, total));
    const done = this.fetchOnce(expected, open, what, tell);
    this.transfers.set(expected.digest, { done, listeners });
    try {
      return await done;
    } finally {
      this.transfers.delete(expected.digest);
    }
  }

  /**
   * Stores bytes whose digest is not known in advance (an archive's member): the digest is
   * computed while writing, and the file is renamed to it. Returns the digest and whether it was new.
   */
  async ingestUnverified(source: ByteSource, what: string): Promise<WrittenBlob & { added: boolean }> {
    this.makeDirectories();
    const temporary = this.temporaryPath('import');
    const written = await writeVerified(source, temporary, null, what);
    const added = !this.has(written.digest);
    if (added) {
      renameSync(temporary, this.blobPath(written.digest));
      syncDirectory(this.blobsDirectory);
    } else {
      unlinkSync(temporary);
    }
    return { ...written, added };
  }

  /** Stores a small document held in memory (a manifest fetched whole), verified against `digest`. */
  async writeBytes(bytes: Buffer, digest: Digest, what: string): Promise<void> {
    await this.ingest({ digest, size: bytes.length }, () => [bytes], what);
  }

  /** Removes temporary files that processes no longer running left behind (killed mid-transfer). */
  removeAbandonedPartials(): number {
    if (!existsSync(this.ingestDirectory)) return 0;
    let removed = 0;
    for (const name of readdirSync(this.ingestDirectory)) {
      if (!name.endsWith(PARTIAL_SUFFIX)) continue;
      const pid = Number(name.split('.')[1]);
      if (Number.isInteger(pid) && pid !== process.pid && !existsSync(`/proc/${pid}`)) {
        unlinkSync(join(this.ingestDirectory, name));
        removed += 1;
      }
    }
    return removed;
  }

  private async fetchOnce(
    expected: { digest: Digest; size: number | null },
    open: () => Promise<ByteSource> | ByteSource,
    what: string,
    onProgress: ProgressListener,
  ): Promise<WrittenBlob & { fetched: boolean }> {
    this.makeDirectories();
    const hex = digestHex(expected.digest);
    return withFileLock(join(this.ingestDirectory, `${hex}.lock`), async () => {
      // Another process may have finished it while this one waited for the lock.
      const present = this.presentBlob(expected.digest, expected.size, what);
      if (present) {
        onProgress(present.size, present.size);
        return { ...present, fetched: false };
      }
      // Under the lock no one else writes this digest: any partial file of it is abandoned.
      for (const name of readdirSync(this.ingestDirectory)) {
        if (name.startsWith(`${hex}.`) && name.endsWith(PARTIAL_SUFFIX)) unlinkSync(join(this.ingestDirectory, name));
      }
      const temporary = this.temporaryPath(hex);
      const written = await writeVerified(await open(), temporary, expected, what, onProgress);
      renameSync(temporary, this.blobPath(expected.digest));
      syncDirectory(this.blobsDirectory);
      return { ...written, fetched: true };
    });
  }

  private presentBlob(digest: Digest, size: number | null, what: string): WrittenBlob | null {
    const actual = this.sizeOf(digest);
    if (actual === null) return null;
    if (size !== null && actual !== size) {
      throw badInput(`${what}: its descriptor says ${size} bytes but the stored blob ${digest} has ${actual}: the descriptor is wrong`);
    }
    return { digest, size: actual };
  }

  private temporaryPath(prefix: string): string {
    return join(this.ingestDirectory, `${prefix}.${process.pid}.${randomBytes(4).toString('hex')}${PARTIAL_SUFFIX}`);
  }

  private makeDirectories(): void {
    // World-traversable, as the busybox layer's: a user-namespaced container's root must reach its layers.
    mkdirSync(this.blobsDirectory, { recursive: true, mode: 0o755 });
    mkdirSync(this.ingestDirectory, { recursive: true, mode: 0o700 });
  }
}

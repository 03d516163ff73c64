/*
 * Ingesting a blob: bytes in, a verified file out — or nothing at all.
 *
 * A layer can be hundreds of megabytes, so it is never held in memory: each chunk that arrives is
 * fed to SHA-256, counted, and written to a temporary file in the store's ingest directory, and
 * the chunk is let go. Only at the end is the digest known, so only then is the file judged:
 *   - the size and the digest match what the descriptor promised → fsync the data, rename the
 *     file to its digest (rename(2) is atomic: the blob appears whole or not at all), fsync the
 *     directory so the name survives a power loss;
 *   - anything else — wrong bytes, too few (a dropped connection), too many, an error from the
 *     source — → the temporary file is deleted, and the error says which.
 * Bytes beyond the promised size are refused as soon as they arrive, so a hostile source cannot
 * fill the disk behind a small descriptor.
 */
import { createHash } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { LabError, badInput } from '../../errors';
import { shortDigest } from '../digest';
import type { Digest } from '../digest';

export interface IngestExpectation {
  digest: Digest;
  /** The size the descriptor promised; null when unknown. */
  size: number | null;
}

/** Called as bytes arrive: how many so far, and the total when known. */
export type ProgressListener = (bytes: number, total: number | null) => void;

/** Where bytes come from: a stream (an HTTP response, a file) or, for small documents, a list of buffers. */
export type ByteSource = AsyncIterable<Buffer | string> | Iterable<Buffer | string>;

export interface WrittenBlob {
  digest: Digest;
  size: number;
}

/**
 * Streams `source` into `temporaryPath`, hashing as it goes; checks the result against
 * `expected` (when given); fsyncs. On any failure the file is removed and the error rethrown.
 * `what` names the blob in messages ("layer 2 of docker.io/library/alpine:3.20").
 */
export async function writeVerified(
  source: ByteSource,
  temporaryPath: string,
  expected: IngestExpectation | null,
  what: string,
  onProgress: ProgressListener = () => {},
): Promise<WrittenBlob> {
  const hash = createHash('sha256');
  const file = await open(temporaryPath, 'wx', 0o644);
  let size = 0;
  try {
    try {
      for await (const piece of source) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
        size += chunk.length;
        if (expected?.size != null && size > expected.size) {
          throw badInput(`${what} is longer than the ${expected.size} bytes its descriptor promises: refused, nothing kept`);
        }
        hash.update(chunk);
        for (let offset = 0; offset < chunk.length;) offset += (await file.write(chunk, offset, chunk.length - offset)).bytesWritten;
        onProgress(size, expected?.size ?? null);
      }
      if (expected?.size != null && size < expected.size) {
        throw badInput(`${what} ended after ${size} of ${expected.size} bytes (the source closed early): nothing kept`);
      }
      const digest: Digest = `sha256:${hash.digest('hex')}`;
      if (expected && digest !== expected.digest) {
        throw badInput(`${what} does not match its digest: expected ${shortDigest(expected.digest)}…, got ${shortDigest(digest)}… (the source sent other bytes): nothing kept`);
      }
      await file.sync();
      return { digest, size };
    } finally {
      await file.close();
    }
  } catch (error) {
    await unlink(temporaryPath).catch(() => {});
    if (error instanceof LabError) throw error;
    // A reset connection, a timeout, a full disk: one line that says where it happened.
    const { code, message } = error as NodeJS.ErrnoException;
    const why = code === 'ECONNRESET' || message === 'aborted' ? 'the connection was cut' : message.split('\n')[0];
    throw new LabError('unsupported', `${what}: transfer failed after ${size} bytes: ${why}; nothing kept`);
  }
}

/*
 * Content addresses: a blob is named by the hash of its bytes.
 *
 * An image is a tree of blobs — an index or manifest, a config, one blob per layer — and each
 * points at the next by *digest*: `sha256:` followed by the 64 hex digits of the SHA-256 of the
 * exact bytes. Whoever holds a digest can check any bytes against it, so a registry, a mirror or
 * an archive can hand over content without being trusted: the same digest always means the same
 * bytes, a blob present once never needs fetching again, and the digest of the top manifest
 * pins the whole image. A digest is also a file name in the content store, so it is validated
 * strictly before it ever becomes a path (no `..`, no `/`, lowercase hex only).
 */
import { createHash } from 'node:crypto';
import { badInput, quote } from '../errors';

/** `sha256:<64 lowercase hex digits>`: the only algorithm registries use in practice. */
export type Digest = `sha256:${string}`;

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
/** What the distribution spec allows in general (`algorithm:encoded`), to say "unsupported" rather than "invalid". */
const ANY_DIGEST_PATTERN = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigest(text: unknown): text is Digest {
  return typeof text === 'string' && DIGEST_PATTERN.test(text);
}

/** `text` as a Digest, or a one-line error naming `what` (e.g. "layer 2 of the manifest"). */
export function parseDigest(text: unknown, what = 'digest'): Digest {
  if (isDigest(text)) return text;
  if (typeof text === 'string' && ANY_DIGEST_PATTERN.test(text) && !text.startsWith('sha256:')) {
    throw badInput(`${what} ${quote(text)} uses ${text.split(':')[0]}: only sha256 digests are supported`);
  }
  throw badInput(`${what} ${quote(text)} is not a digest: expected sha256: and 64 hex digits`);
}

/** The 64 hex digits (the file name in the store). */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export function digestOf(bytes: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The first 12 hex digits, as `docker images` shows an ID. */
export function shortDigest(digest: Digest): string {
  return digestHex(digest).slice(0, 12);
}

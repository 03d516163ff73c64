/*
 * Reading a stream in exact amounts, without holding it.
 *
 * A layer arrives as a stream of chunks whose sizes have nothing to do with the tar format: a
 * chunk may end in the middle of a 512-byte header, or hold the end of one file and the start of
 * the next header. A tar reader wants "the next 512 bytes" and then "the next N bytes, piece by
 * piece". This class sits between the two: it keeps only the chunks not yet handed on (at most
 * one chunk plus a header), so memory stays the same size whether the layer is 1 MB or 10 GB.
 */

/** The stream ended where the format still expected bytes: the archive is cut short. */
export class TruncatedError extends Error {
  constructor(what: string) {
    super(`the archive ends in the middle of ${what}: it is truncated`);
    this.name = 'TruncatedError';
  }
}

export class ByteSource {
  private readonly iterator: AsyncIterator<unknown>;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Bytes handed on so far: where the next read starts, counted from the stream's beginning. */
  position = 0;

  constructor(source: AsyncIterable<unknown>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Pulls chunks until `wanted` bytes are buffered or the stream ends. */
  private async fill(wanted: number): Promise<void> {
    while (this.buffered < wanted && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      const chunk = asBuffer(next.value);
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
  }

  /**
   * Exactly `length` bytes (a header), or null when the stream ends before the first of them.
   * A stream that ends part-way through throws TruncatedError naming `what`.
   */
  async readExact(length: number, what: string): Promise<Buffer | null> {
    await this.fill(length);
    if (this.buffered === 0) return null;
    if (this.buffered < length) throw new TruncatedError(what);
    const first = this.chunks[0] as Buffer;
    let result: Buffer;
    if (first.length >= length) {
      result = first.subarray(0, length);
      this.consumeFront(length);
    } else {
      result = Buffer.alloc(length);
      let copied = 0;
      while (copied < length) {
        const chunk = this.chunks[0] as Buffer;
        const take = Math.min(chunk.length, length - copied);
        chunk.copy(result, copied, 0, take);
        copied += take;
        this.consumeFront(take);
      }
    }
    return result;
  }

  /** The next `length` bytes as they come, in pieces no larger than the stream's own chunks. */
  async *take(length: number, what: string): AsyncGenerator<Buffer> {
    let remaining = length;
    while (remaining > 0) {
      if (this.buffered === 0) await this.fill(1);
      if (this.buffered === 0) throw new TruncatedError(what);
      const chunk = this.chunks[0] as Buffer;
      const piece = chunk.length <= remaining ? chunk : chunk.subarray(0, remaining);
      this.consumeFront(piece.length);
      remaining -= piece.length;
      yield piece;
    }
  }

  /** Reads and drops `length` bytes (the rest of an unread body, the padding after one). */
  async skip(length: number, what: string): Promise<void> {
    for await (const piece of this.take(length, what)) void piece;
  }

  /** Reads the stream to its end, dropping what is left; returns how many bytes that was. */
  async drain(): Promise<number> {
    let dropped = this.buffered;
    this.chunks.length = 0;
    this.position += this.buffered;
    this.buffered = 0;
    while (!this.ended) {
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      const length = asBuffer(next.value).length;
      dropped += length;
      this.position += length;
    }
    return dropped;
  }

  private consumeFront(length: number): void {
    const chunk = this.chunks[0] as Buffer;
    if (length === chunk.length) this.chunks.shift();
    else this.chunks[0] = chunk.subarray(length);
    this.buffered -= length;
    this.position += length;
  }
}

function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'latin1');
  throw new TypeError('a layer stream must yield bytes');
}

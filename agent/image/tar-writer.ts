/*
 * A tiny tar writer: the other half of ./unpack/tar-reader.ts, for images the agent builds itself.
 *
 * A tar archive is a row of 512-byte headers, each followed by its file's bytes padded to 512,
 * ended by two zero blocks. The header (POSIX ustar) holds the name (100 bytes, plus a 155-byte
 * prefix for longer paths), mode, uid, gid, size and mtime as octal text, a checksum (the sum of
 * the header's bytes with the checksum field read as spaces), a type flag ('0' file, '2' symlink,
 * '5' directory) and the link target. An image layer is exactly such an archive; whiteouts are
 * just empty files named `.wh.NAME` (and `.wh..wh..opq` for an opaque directory).
 *
 * Used for the labs' small images (agent/image/build.ts), built in memory: they are a few MB.
 */
const BLOCK = 512;

export type TarEntry =
  | { type: 'directory'; path: string; mode?: number }
  | { type: 'file'; path: string; content: Buffer; mode?: number }
  | { type: 'symlink'; path: string; target: string };

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(entry: TarEntry, size: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  let name = entry.type === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`tar: path too long for ustar: ${entry.path}`);
  }
  const mode = entry.type === 'symlink' ? 0o777 : entry.mode ?? (entry.type === 'directory' ? 0o755 : 0o644);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(mode, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(mtime, 12), 136, 'ascii');
  block.write(' '.repeat(8), 148, 'ascii');
  block.write(entry.type === 'file' ? '0' : entry.type === 'symlink' ? '2' : '5', 156, 'ascii');
  if (entry.type === 'symlink') block.write(entry.target, 157, 100, 'utf8');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** The archive of `entries`, in the order given (parents before children, as tar readers expect). */
export function writeTar(entries: readonly TarEntry[], mtime = 1700000000): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.type === 'file' ? entry.content : Buffer.alloc(0);
    parts.push(header(entry, content.length, mtime), content);
    const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

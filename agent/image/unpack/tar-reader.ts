/*
 * Reading a tar archive as a stream of members, one at a time.
 *
 * An image layer is a tar archive (see ./tar-header.ts for the header format). This reader turns
 * a stream of bytes into a sequence of members — each a description (name, type, mode, owner,
 * times, link target, device numbers, extended attributes) and, for a regular file, its content
 * as a stream of pieces. It folds the helper members into the member they describe: PAX `x`
 * records and GNU `L`/`K` long names apply to the next member, PAX `g` records to all later ones.
 *
 * Nothing is held whole: a file's content is handed on as it arrives, and whatever the consumer
 * does not read is skipped before the next header. After the end-of-archive block the rest of
 * the stream (tar pads archives to 10 KiB records) is still read, because the layer's diff ID is
 * the hash of every byte.
 */
import type { Timespec } from '../../kernel/directory-fds';
import { quote } from '../../errors';
import { ByteSource } from './byte-source';
import { BLOCK, isZeroBlock, parseHeader, parsePaxRecords, paxInteger, paxTime, TarFormatError, type PaxRecords, type RawHeader } from './tar-header';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarEntry {
  /** The member's name as a byte string (latin1), as written: not yet checked or normalised. */
  path: string;
  type: TarEntryType;
  /** Permission bits with setuid, setgid and sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content length; 0 for every type but a regular file. */
  size: number;
  mtime: Timespec;
  /** From a PAX atime record, when the archive has one. */
  atime: Timespec | null;
  /** Symlink target or hard-link target (another member's name), as a byte string. */
  linkname: string;
  devMajor: number;
  devMinor: number;
  /** Extended attributes by name (user.foo, security.capability …), values as bytes. */
  xattrs: Map<string, Buffer>;
  /** A regular file's content, exactly `size` bytes in pieces; empty for other types. */
  body: AsyncIterable<Buffer>;
}

/** A PAX or GNU helper member larger than this is refused: such metadata is never legitimately this big. */
const METADATA_LIMIT = 1024 * 1024;

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo',
};

/** Types with no data after the header, whatever their size field says (as POSIX and Go's reader treat them). */
function hasData(typeflag: string): boolean {
  return !'123456'.includes(typeflag);
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

async function readAll(source: ByteSource, size: number, what: string): Promise<Buffer> {
  if (size > METADATA_LIMIT) throw new TarFormatError(`${what} of ${size} bytes is larger than the ${METADATA_LIMIT}-byte limit`);
  const data = size === 0 ? Buffer.alloc(0) : await source.readExact(size, what);
  if (data === null) throw new TarFormatError(`the archive ends before ${what}`);
  await source.skip(padding(size), what);
  return Buffer.from(data);
}

function nulTerminated(data: Buffer): string {
  const end = data.indexOf(0);
  return data.subarray(0, end < 0 ? data.length : end).toString('latin1');
}

/**
 * The members of the tar archive in `stream`, in order. Each yielded member's body must be read
 * (or left) before asking for the next; the reader skips what was left.
 */
export async function* readTar(stream: AsyncIterable<unknown>): AsyncGenerator<TarEntry> {
  const source = new ByteSource(stream);
  const global: PaxRecords = new Map();
  let local: PaxRecords = new Map();
  let longName: string | null = null;
  let longLink: string | null = null;

  for (;;) {
    const block = await source.readExact(BLOCK, 'a header');
    if (block === null) break; // ended on a block boundary without the end marker: accepted, as Go's reader does
    if (isZeroBlock(block)) break;
    const header = parseHeader(block);
    const dataSize = hasData(header.typeflag) ? header.size : 0;

    switch (header.typeflag) {
      case 'x':
        local = parsePaxRecords(await readAll(source, dataSize, 'a PAX extended header'));
        continue;
      case 'g':
        for (const [key, value] of parsePaxRecords(await readAll(source, dataSize, 'a PAX global header'))) global.set(key, value);
        continue;
      case 'L':
        longName = nulTerminated(await readAll(source, dataSize, 'a GNU long name'));
        continue;
      case 'K':
        longLink = nulTerminated(await readAll(source, dataSize, 'a GNU long link name'));
        continue;
      case 'V': // a volume label: names the archive, not a file
        await source.skip(dataSize + padding(dataSize), 'a volume label');
        continue;
    }

    const records = new Map([...global, ...local]);
    const entry = describe(header, records, longName, longLink);
    local = new Map();
    longName = null;
    longLink = null;

    const size = entry.type === 'file' ? entry.size : 0;
    // Data the header announces that no one reads (a GNU dumpdir's listing, a link's stray size).
    const skipped = entry.type === 'file' ? 0 : dataSize;
    let unread = size;
    const what = `the content of ${quote(readable(entry.path))}`;
    entry.body = (async function* body() {
      for await (const piece of source.take(unread, what)) {
        unread -= piece.length;
        yield piece;
      }
    })();
    yield entry;
    await source.skip(unread + padding(size) + skipped + padding(skipped), what);
  }
  await source.drain();
}

/** A byte string (latin1) as the text a person reads, for messages. */
export function readable(byteString: string): string {
  return Buffer.from(byteString, 'latin1').toString('utf8');
}

function describe(header: RawHeader, records: PaxRecords, longName: string | null, longLink: string | null): TarEntry {
  for (const key of records.keys()) {
    if (key.startsWith('GNU.sparse.')) throw new TarFormatError('the archive has a sparse file (GNU.sparse): layers never hold sparse files');
  }
  const paxText = (key: string): string | undefined => {
    const value = records.get(key);
    // An empty value cancels a global record (or the header's field) for this member.
    return value === undefined || value.length === 0 ? undefined : value.toString('latin1');
  };
  const paxNumber = (key: string, fallback: number): number => {
    const value = records.get(key);
    return value === undefined || value.length === 0 ? fallback : paxInteger(value, key);
  };

  let path = paxText('path') ?? longName ?? (header.prefix ? `${header.prefix}/${header.name}` : header.name);
  let type = TYPES[header.typeflag];
  if (header.typeflag === '\0') type = path.endsWith('/') ? 'directory' : 'file'; // pre-POSIX tars
  if (header.typeflag === 'D') type = 'directory'; // a GNU "dumpdir": a directory with a listing as data
  if (type === undefined) throw unsupportedType(header.typeflag, path);
  if (path === '') throw new TarFormatError('a member has an empty name');
  if (type === 'directory' && path.length > 1) path = path.replace(/\/+$/, '');

  const mtimeRecord = records.get('mtime');
  const atimeRecord = records.get('atime');
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of records) {
    if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    // bsdtar's form: the name URL-encoded, the value base64.
    else if (key.startsWith('LIBARCHIVE.xattr.')) xattrs.set(decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(value.toString('latin1'), 'base64'));
  }

  return {
    path,
    type,
    mode: header.mode & 0o7777,
    uid: paxNumber('uid', header.uid),
    gid: paxNumber('gid', header.gid),
    size: type === 'file' ? paxNumber('size', header.size) : 0,
    mtime: mtimeRecord && mtimeRecord.length > 0 ? paxTime(mtimeRecord, 'mtime') : { seconds: header.mtime, nanoseconds: 0 },
    atime: atimeRecord && atimeRecord.length > 0 ? paxTime(atimeRecord, 'atime') : null,
    linkname: paxText('linkpath') ?? longLink ?? header.linkname,
    devMajor: header.devMajor,
    devMinor: header.devMinor,
    xattrs,
    body: (async function* nothing() {})(),
  };
}

function unsupportedType(typeflag: string, path: string): TarFormatError {
  const named: Record<string, string> = { S: 'a GNU sparse file', M: 'a multi-volume continuation', N: 'an old GNU long name' };
  const code = typeflag.charCodeAt(0);
  const flag = code >= 0x20 && code < 0x7f ? `'${typeflag}'` : `0x${code.toString(16)}`;
  return new TarFormatError(`member ${quote(readable(path))} has type ${flag}${named[typeflag] ? ` (${named[typeflag]})` : ''}, which a layer cannot hold`);
}

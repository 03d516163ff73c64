/*
 * The tar header: 512 bytes that describe one file.
 *
 * A tar archive is a sequence of 512-byte blocks. Each member starts with a header block —
 * name, mode, owner, size, modification time, type, link target, all as fixed-width text fields
 * (numbers in octal) — followed by its data, padded to a whole block. Two blocks of zeros end
 * the archive. That is the 1988 "ustar" format (POSIX.1-1988); its limits (a 100-byte name plus
 * a 155-byte prefix, 8 GiB files, 7-digit uids, no extended attributes) were lifted twice:
 *
 *   - GNU tar's own extensions: a member of type `L` (or `K`) whose data is the long name (or
 *     long link target) of the member after it, and big numbers in base-256 (high bit set).
 *   - PAX (POSIX.1-2001): a member of type `x` whose data is "LEN key=value\n" records that
 *     override the next header's fields (path, linkpath, size, mtime with nanoseconds, uid, gid)
 *     and carry new ones, such as SCHILY.xattr.user.foo for an extended attribute; type `g` sets
 *     defaults for every member after it. `tar --format=pax`, Docker and BuildKit write PAX.
 *
 * Names are kept as "byte strings" (one character per byte, latin1): a name in a tarball is
 * bytes, not always UTF-8, and must reach the filesystem unchanged.
 */
import type { Timespec } from '../../kernel/directory-fds';

export const BLOCK = 512;

/** The fields of one header block, before PAX or GNU long-name members are applied. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devMajor: number;
  devMinor: number;
  /** The ustar prefix (joined before name), empty for old GNU headers which use those bytes for times. */
  prefix: string;
}

/** Malformed tar content: the message says what is wrong, on one line. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

export function isZeroBlock(block: Buffer): boolean {
  for (let index = 0; index < block.length; index += 1) if (block[index] !== 0) return false;
  return true;
}

/** Bytes of a NUL-terminated text field as a byte string. */
function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('latin1');
}

/**
 * A numeric field: octal text padded with spaces or NULs, or — GNU's extension for values that
 * do not fit — base-256, big-endian two's complement, flagged by the high bit of the first byte.
 */
export function numberField(block: Buffer, offset: number, length: number, what: string): number {
  const field = block.subarray(offset, offset + length);
  const first = field[0] as number;
  if (first & 0x80) {
    let value = BigInt(first & 0x7f) - (first & 0x40 ? 0x80n : 0n);
    for (let index = 1; index < field.length; index += 1) value = (value << 8n) | BigInt(field[index] as number);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) throw new TarFormatError(`the ${what} field is out of range`);
    return Number(value);
  }
  const digits = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) throw new TarFormatError(`the ${what} field is not an octal number`);
  return parseInt(digits, 8);
}

/** The header checksum: every byte summed, with the 8 checksum bytes counted as spaces. */
function checksumMatches(block: Buffer): boolean {
  const stored = numberField(block, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let index = 0; index < BLOCK; index += 1) {
    const byte = index >= 148 && index < 156 ? 0x20 : (block[index] as number);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  // Some old tars summed signed chars; both are accepted, as GNU tar and Go's reader do.
  return stored === unsigned || stored === signed;
}

export function parseHeader(block: Buffer): RawHeader {
  if (!checksumMatches(block)) throw new TarFormatError('a header block has a wrong checksum: this is not a tar archive, or it is corrupt');
  const magic = block.subarray(257, 265).toString('latin1');
  const isPosixUstar = magic.startsWith('ustar\0');
  return {
    name: text(block, 0, 100),
    mode: numberField(block, 100, 8, 'mode'),
    uid: numberField(block, 108, 8, 'uid'),
    gid: numberField(block, 116, 8, 'gid'),
    size: numberField(block, 124, 12, 'size'),
    mtime: numberField(block, 136, 12, 'mtime'),
    typeflag: String.fromCharCode(block[156] as number),
    linkname: text(block, 157, 100),
    devMajor: isPosixUstar || magic === 'ustar  \0' ? numberField(block, 329, 8, 'devmajor') : 0,
    devMinor: isPosixUstar || magic === 'ustar  \0' ? numberField(block, 337, 8, 'devminor') : 0,
    prefix: isPosixUstar ? text(block, 345, 155) : '',
  };
}

/** One PAX record: the key as text, the value as the bytes it was (an xattr value is binary). */
export type PaxRecords = Map<string, Buffer>;

/** Parses the data of an `x` or `g` member: "LEN key=value\n" records, LEN counting the whole record. */
export function parsePaxRecords(data: Buffer): PaxRecords {
  const records: PaxRecords = new Map();
  let offset = 0;
  while (offset < data.length) {
    if (data[offset] === 0) break; // some writers pad the data with NULs
    const space = data.indexOf(0x20, offset);
    const lengthText = space < 0 ? '' : data.subarray(offset, space).toString('latin1');
    const length = /^[1-9][0-9]{0,8}$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!Number.isFinite(length) || offset + length > data.length || data[offset + length - 1] !== 0x0a) {
      throw new TarFormatError('a PAX extended header has a malformed record');
    }
    const record = data.subarray(space + 1, offset + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new TarFormatError('a PAX extended header has a record without a key');
    records.set(record.subarray(0, equals).toString('utf8'), record.subarray(equals + 1));
    offset += length;
  }
  return records;
}

/** A PAX decimal integer (size, uid, gid). */
export function paxInteger(value: Buffer, key: string): number {
  const digits = value.toString('latin1');
  if (!/^[0-9]{1,16}$/.test(digits) || Number(digits) > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`the PAX ${key} record is not a whole number`);
  return Number(digits);
}

/** A PAX time: seconds since 1970 with an optional fraction ("1700000000.123456789", "-1.5"). */
export function paxTime(value: Buffer, key: string): Timespec {
  const match = /^(-?)([0-9]{1,15})(?:\.([0-9]*))?$/.exec(value.toString('latin1'));
  if (!match) throw new TarFormatError(`the PAX ${key} record is not a time`);
  const whole = Number(match[2]);
  const nanoseconds = Number(((match[3] ?? '') + '000000000').slice(0, 9));
  if (match[1] !== '-') return { seconds: whole, nanoseconds };
  // -1.5 s is 2 s before the epoch plus 0.5 s: timespec keeps nanoseconds non-negative.
  return nanoseconds === 0 ? { seconds: -whole, nanoseconds: 0 } : { seconds: -whole - 1, nanoseconds: 1_000_000_000 - nanoseconds };
}

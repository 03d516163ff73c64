/*
 * Tar archives built byte by byte, for tests that need members GNU tar will not write: names
 * with "..", absolute names, a symlink followed by a member written through it, a hard link
 * pointing outside, a broken checksum. Each header is the 512-byte ustar block (octal fields,
 * the checksum computed over the block with its own field as spaces); data is padded to 512.
 */
import { createHash } from 'node:crypto';

export interface Member {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'fifo' | 'pax' | 'pax-global';
  content?: Buffer | string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devMajor?: number;
  devMinor?: number;
}

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', char: '3', directory: '5', fifo: '6', pax: 'x', 'pax-global': 'g' } as const;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

export function header(member: Member, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(member.name, 0, 100, 'utf8');
  block.write(octal(member.mode ?? (member.type === 'directory' ? 0o755 : 0o644), 8), 100, 'latin1');
  block.write(octal(member.uid ?? 0, 8), 108, 'latin1');
  block.write(octal(member.gid ?? 0, 8), 116, 'latin1');
  block.write(octal(size, 12), 124, 'latin1');
  block.write(octal(member.mtime ?? 1_700_000_000, 12), 136, 'latin1');
  block.write(TYPEFLAG[member.type ?? 'file'], 156, 'latin1');
  block.write(member.linkname ?? '', 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 'latin1');
  block.write(octal(member.devMajor ?? 0, 8), 329, 'latin1');
  block.write(octal(member.devMinor ?? 0, 8), 337, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function padded(data: Buffer): Buffer {
  const padding = (512 - (data.length % 512)) % 512;
  return Buffer.concat([data, Buffer.alloc(padding)]);
}

/** One member: its header and its data padded to a whole block. */
export function member(spec: Member): Buffer {
  const data = Buffer.from(spec.content ?? '');
  return Buffer.concat([header(spec, data.length), padded(data)]);
}

/** A PAX extended header member whose records apply to the next member (`global`: to every later one). */
export function paxMember(records: Record<string, string | Buffer>, global = false): Buffer {
  const parts = Object.entries(records).map(([key, value]) => {
    const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
    let length = body.length + 1;
    while (String(length).length + body.length !== length) length = String(length).length + body.length;
    return Buffer.concat([Buffer.from(String(length)), body]);
  });
  return member({ name: 'PaxHeaders/x', type: global ? 'pax-global' : 'pax', content: Buffer.concat(parts) });
}

/** A whole archive: the members, then the two zero blocks that end it. */
export function archive(...members: Buffer[]): Buffer {
  return Buffer.concat([...members, Buffer.alloc(1024)]);
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

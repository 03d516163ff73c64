/*
 * Layer unpacking against the real thing: layers made by GNU tar (pax, gnu and ustar formats,
 * gzip) from directories holding every kind of file, unpacked and compared with the originals by
 * lstat and getfattr; three layers with a deletion and an opaque directory stacked in a real
 * overlay mount, read through the kernel's merged view; hostile archives crafted byte by byte,
 * each refused in one line with nothing written outside and no partial directory left; and a
 * 200 MB layer unpacked with the process's peak memory measured by the kernel (VmHWM).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { removeAbandonedPartials, unpackLayer } from '../agent/image/unpack';
import { archive, member, paxMember, sha256 } from './helpers/tar-bytes';
import { hostMountsMentioning } from './helpers/kernel-witness';

const OCI_TAR = 'application/vnd.oci.image.layer.v1.tar';
const OCI_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const DOCKER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

let work: string;

beforeAll(() => {
  // getfattr/setfattr are the tests' witness for xattrs (scripts/setup-host.sh installs them).
  if (spawnSync('getfattr', ['--version']).error) throw new Error('"getfattr" is not installed: apt-get install attr (scripts/setup-host.sh does)');
  work = mkdtempSync('/tmp/cl-image-unpack-');
});

afterAll(() => {
  for (const line of hostMountsMentioning(work)) execFileSync('umount', ['-l', line.split(' ')[4]!]);
  rmSync(work, { recursive: true, force: true });
  expect(hostMountsMentioning(work)).toEqual([]);
});

function run(command: string, args: string[], cwd?: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function fileDigest(path: string): string {
  return `sha256:${run('sha256sum', [path]).split(' ')[0]}`;
}

async function unpackFile(file: string, target: string, mediaType: string, diffId?: string) {
  return unpackLayer(createReadStream(file), { targetDirectory: target, mediaType, digest: fileDigest(file), diffId });
}

/** Every kind of file a layer can hold, with owners, modes, xattrs and nanosecond times. */
function makeRichTree(root: string): void {
  mkdirSync(join(root, 'etc/deep'), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), 'layer\n');
  writeFileSync(join(root, 'etc/empty'), '');
  writeFileSync(join(root, 'etc/block-512'), Buffer.alloc(512, 7));
  writeFileSync(join(root, 'etc/block-513'), Buffer.alloc(513, 9));
  writeFileSync(join(root, 'etc/random'), createHash('sha512').update('seed').digest().toString('hex').repeat(20000));
  writeFileSync(join(root, 'etc/café ☕'), 'utf-8 name');
  run('ln', [join(root, 'etc/hostname'), join(root, 'etc/deep/hostname-hardlink')]);
  symlinkSync('../hostname', join(root, 'etc/deep/relative-link'));
  symlinkSync('/usr/bin/absolute-target', join(root, 'etc/absolute-link'));
  symlinkSync(`${'t'.repeat(150)}/long-target`, join(root, 'etc/long-link'));
  const longDirectory = join(root, 'long', 'd'.repeat(90), 'e'.repeat(90));
  mkdirSync(longDirectory, { recursive: true });
  writeFileSync(join(longDirectory, 'f'.repeat(60)), 'long path');
  run('mkfifo', [join(root, 'etc/fifo')]);
  run('mknod', [join(root, 'etc/null'), 'c', '1', '3']);
  run('mknod', [join(root, 'etc/loop'), 'b', '7', '0']);
  run('mknod', [join(root, 'etc/big-numbers'), 'c', '300', '70000']);
  writeFileSync(join(root, 'etc/setuid'), '#!/bin/sh\n');
  run('chown', ['1234:5678', join(root, 'etc/setuid')]); // before chmod: chown clears setuid
  run('chmod', ['4755', join(root, 'etc/setuid')]);
  writeFileSync(join(root, 'etc/setgid'), 'g');
  run('chmod', ['2711', join(root, 'etc/setgid')]);
  writeFileSync(join(root, 'etc/no-permissions'), 'x');
  run('chmod', ['000', join(root, 'etc/no-permissions')]);
  mkdirSync(join(root, 'tmp'));
  run('chmod', ['1777', join(root, 'tmp')]);
  run('chown', ['-h', '42:43', join(root, 'etc/deep/relative-link')]);
  run('chown', ['500:600', join(root, 'etc/deep')]);
  run('setfattr', ['-n', 'user.colour', '-v', 'blue', join(root, 'etc/hostname')]);
  run('setfattr', ['-n', 'user.binary', '-v', '0x00ff10', join(root, 'etc/random')]);
  run('setfattr', ['-n', 'user.on-a-directory', '-v', 'yes', join(root, 'etc/deep')]);
  mkdirSync(join(root, 'read-only/inside'), { recursive: true });
  writeFileSync(join(root, 'read-only/inside/file'), 'in a read-only directory');
  run('chmod', ['0555', join(root, 'read-only/inside'), join(root, 'read-only')]);
  // Times last (and deepest first), so creating children does not move a directory's mtime.
  run('touch', ['-h', '-d', '2001-02-03 04:05:06.123456789', join(root, 'etc/deep/relative-link')]);
  run('touch', ['-d', '2002-03-04 05:06:07.987654321', join(root, 'etc/hostname'), join(root, 'etc/setuid')]);
  run('touch', ['-d', '1999-12-31 23:59:59.5', join(root, 'etc/deep'), join(root, 'read-only/inside')]);
  run('touch', ['-d', '2010-01-01 00:00:00.000000001', join(root, 'etc')]);
}

interface Described {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  rdev: number;
  link: string | null;
  content: string | null;
}

/** Every path under `root` as lstat describes it, and which paths share an inode (hard links). */
function describeTree(root: string): { files: Map<string, Described>; hardLinks: string[][] } {
  const files = new Map<string, Described>();
  const inodes = new Map<bigint, string[]>();
  const walk = (relative: string): void => {
    const path = join(root, relative);
    const stat = lstatSync(path, { bigint: true });
    const type = stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : stat.isFile() ? 'file' : stat.isFIFO() ? 'fifo' : stat.isCharacterDevice() ? 'char' : stat.isBlockDevice() ? 'block' : 'other';
    files.set(relative, {
      type, mode: Number(stat.mode & 0o7777n), uid: Number(stat.uid), gid: Number(stat.gid), size: type === 'dir' ? 0 : Number(stat.size),
      mtimeNs: stat.mtimeNs, rdev: Number(stat.rdev), link: type === 'symlink' ? readlinkSync(path) : null,
      content: type === 'file' ? createHash('sha256').update(readFileSync(path)).digest('hex') : null,
    });
    if (type === 'file') inodes.set(stat.ino, [...(inodes.get(stat.ino) ?? []), relative]);
    if (type === 'dir') for (const name of readdirSync(path).sort()) walk(relative === '.' ? name : `${relative}/${name}`);
  };
  walk('.');
  return { files, hardLinks: [...inodes.values()].filter((paths) => paths.length > 1) };
}

/** getfattr's dump of every xattr under `root` (symlinks not followed), paths relative to it. */
function xattrDump(root: string): string {
  return run('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '.'], root);
}

function partialsNextTo(target: string): string[] {
  const parent = join(target, '..');
  return existsSync(parent) ? readdirSync(parent).filter((name) => name.includes('.partial-')) : [];
}

describe('layers GNU tar made', () => {
  test('pax + gzip: every kind of file comes back exactly (types, modes, owners, xattrs, ns mtimes, hard links, devices)', async () => {
    const source = join(work, 'rich');
    makeRichTree(source);
    const tar = join(work, 'rich.tar');
    run('tar', ['--xattrs', '--xattrs-include=user.*', '--format=pax', '--numeric-owner', '-C', source, '-cf', tar, '.']);
    run('gzip', ['-k', '-6', tar]);
    const target = join(work, 'layers/rich');

    const result = await unpackFile(`${tar}.gz`, target, OCI_GZIP, fileDigest(tar));

    expect(result).toMatchObject({ diffId: fileDigest(tar), size: statSync(tar).size, compressedSize: statSync(`${tar}.gz`).size, warnings: [] });
    const expected = describeTree(source);
    const actual = describeTree(target);
    expect([...actual.files.keys()].sort()).toEqual([...expected.files.keys()].sort());
    for (const [path, description] of expected.files) expect({ path, ...actual.files.get(path) }).toEqual({ path, ...description });
    expect(actual.hardLinks).toEqual([['etc/deep/hostname-hardlink', 'etc/hostname']]);
    expect(actual.files.get('etc/setuid')).toMatchObject({ mode: 0o4755, uid: 1234, gid: 5678 });
    expect(run('stat', ['-c', '%t:%T', join(target, 'etc/big-numbers')]).trim()).toBe('12c:11170'); // 300:70000 in hex
    const dump = xattrDump(target);
    expect(dump).toContain('user.colour=0x626c7565');
    expect(dump).toContain('user.binary=0x00ff10');
    expect(dump).toBe(xattrDump(source));
    expect(partialsNextTo(target)).toEqual([]);
  });

  test('GNU format (L/K long-name members), uncompressed and with the Docker gzip media type', async () => {
    const source = join(work, 'gnu');
    makeRichTree(source);
    const tar = join(work, 'gnu.tar');
    run('tar', ['--format=gnu', '--numeric-owner', '-C', source, '-cf', tar, '.']);
    expect(readFileSync(tar).includes(Buffer.from('././@LongLink'))).toBe(true);

    const plain = join(work, 'layers/gnu-plain');
    await unpackFile(tar, plain, OCI_TAR, fileDigest(tar));
    run('gzip', ['-k', tar]);
    const zipped = join(work, 'layers/gnu-gzip');
    await unpackFile(`${tar}.gz`, zipped, DOCKER_GZIP);

    const expected = describeTree(source);
    for (const target of [plain, zipped]) {
      const actual = describeTree(target);
      expect([...actual.files.keys()].sort()).toEqual([...expected.files.keys()].sort());
      for (const [path, description] of expected.files) {
        // GNU format keeps whole seconds only, and no xattrs.
        const seconds = (ns: bigint): bigint => ns / 1_000_000_000n;
        expect({ path, ...actual.files.get(path), mtimeNs: seconds(actual.files.get(path)!.mtimeNs) }).toEqual({ path, ...description, mtimeNs: seconds(description.mtimeNs) });
      }
    }
    expect(readlinkSync(join(plain, 'etc/long-link'))).toBe(`${'t'.repeat(150)}/long-target`);
  });

  test('ustar: a name split into prefix and name', async () => {
    const source = join(work, 'ustar');
    const directory = join(source, 'p'.repeat(80), 'q'.repeat(40));
    mkdirSync(directory, { recursive: true });
    writeFileSync(join(directory, 'r'.repeat(90)), 'split name');
    const tar = join(work, 'ustar.tar');
    run('tar', ['--format=ustar', '-C', source, '-cf', tar, '.']);
    const target = join(work, 'layers/ustar');
    await unpackFile(tar, target, OCI_TAR);
    expect(readFileSync(join(target, 'p'.repeat(80), 'q'.repeat(40), 'r'.repeat(90)), 'utf8')).toBe('split name');
  });
});

describe('PAX records the reader must honour (crafted: GNU tar never writes a global header)', () => {
  test('a global header applies to later members; a local one overrides it, and an empty value cancels it', async () => {
    const longPath = `${'long/'.repeat(40)}name`;
    const longTarget = `${'target/'.repeat(20)}x`;
    const bytes = archive(
      paxMember({ uid: '4242', 'SCHILY.xattr.user.everywhere': 'g' }, true),
      member({ name: 'a', content: 'A', uid: 1 }),
      paxMember({ path: longPath, mtime: '1234567890.5', gid: '777', uid: '' }),
      member({ name: 'ignored-short-name', content: 'B', uid: 5, gid: 6 }),
      paxMember({ linkpath: longTarget }),
      member({ name: 'sym', type: 'symlink', linkname: 'ignored' }),
      paxMember({ mtime: '-1.25' }),
      member({ name: 'before-1970', content: 'old' }),
      member({ name: 'usr/lib/x', content: 'lib file' }),
      member({ name: 'lib', type: 'symlink', linkname: 'usr/lib' }),
      member({ name: 'y', type: 'hardlink', linkname: 'lib/x' }),
    );
    const target = join(work, 'layers/pax-records');
    await unpackLayer(Readable.from([bytes]), { targetDirectory: target, mediaType: OCI_TAR, digest: sha256(bytes) });

    expect(lstatSync(join(target, 'a')).uid).toBe(4242);
    expect(run('getfattr', ['--only-values', '-n', 'user.everywhere', join(target, 'a')])).toBe('g');
    const long = lstatSync(join(target, longPath), { bigint: true });
    expect({ uid: long.uid, gid: long.gid, mtimeNs: long.mtimeNs }).toEqual({ uid: 5n, gid: 777n, mtimeNs: 1_234_567_890_500_000_000n });
    expect(readFileSync(join(target, longPath), 'utf8')).toBe('B');
    expect(existsSync(join(target, 'ignored-short-name'))).toBe(false);
    expect(readlinkSync(join(target, 'sym'))).toBe(longTarget);
    expect(lstatSync(join(target, 'before-1970'), { bigint: true }).mtimeNs).toBe(-1_250_000_000n);
    // A hard link through a symlink that stays inside the layer is fine: it links usr/lib/x.
    expect(lstatSync(join(target, 'y')).ino).toBe(lstatSync(join(target, 'usr/lib/x')).ino);
  });
});

describe('later members replace earlier ones of the same name', () => {
  test('a directory (with children) replaced by a file, a file by a directory; a whiteout never hides this layer\'s own file', async () => {
    const bytes = archive(
      member({ name: 'd', type: 'directory', mtime: 1000 }),
      member({ name: 'd/sub', type: 'directory', mtime: 1000 }),
      member({ name: 'd/sub/file', content: 'gone' }),
      member({ name: 'd', content: 'now a file', mtime: 2000 }),
      member({ name: 'f', content: 'was a file' }),
      member({ name: 'f', type: 'directory', mode: 0o700, mtime: 3000 }),
      member({ name: '.wh.first' }),
      member({ name: 'first', content: 'whiteout first, file second' }),
      member({ name: 'second', content: 'file first, whiteout second' }),
      member({ name: '.wh.second' }),
    );
    const target = join(work, 'layers/replacements');
    await unpackLayer(Readable.from([bytes]), { targetDirectory: target, mediaType: OCI_TAR, digest: sha256(bytes) });
    expect(readFileSync(join(target, 'd'), 'utf8')).toBe('now a file');
    expect(lstatSync(join(target, 'd')).mtimeMs).toBe(2_000_000);
    expect(lstatSync(join(target, 'f')).isDirectory()).toBe(true);
    expect({ mode: lstatSync(join(target, 'f')).mode & 0o7777, mtime: lstatSync(join(target, 'f')).mtimeMs }).toEqual({ mode: 0o700, mtime: 3_000_000 });
    expect(readFileSync(join(target, 'first'), 'utf8')).toBe('whiteout first, file second');
    expect(readFileSync(join(target, 'second'), 'utf8')).toBe('file first, whiteout second');
  });
});

describe('whiteouts and opaque directories', () => {
  test('.wh.NAME becomes a 0:0 character device, .wh..wh..opq the opaque xattr; no .wh. name stays', async () => {
    const source = join(work, 'whiteouts');
    mkdirSync(join(source, 'etc'), { recursive: true });
    mkdirSync(join(source, 'data'));
    writeFileSync(join(source, 'etc/.wh.gone'), '');
    writeFileSync(join(source, 'data/.wh..wh..opq'), '');
    writeFileSync(join(source, 'data/kept'), 'new');
    writeFileSync(join(source, '.wh..wh.plnk'), ''); // AUFS's reserved names are ignored
    const tar = join(work, 'whiteouts.tar');
    run('tar', ['--format=pax', '-C', source, '-cf', tar, '.']);
    const target = join(work, 'layers/whiteouts');
    await unpackFile(tar, target, OCI_TAR);

    const gone = lstatSync(join(target, 'etc/gone'));
    expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true);
    expect(run('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(target, 'data')])).toBe('y');
    expect(readFileSync(join(target, 'data/kept'), 'utf8')).toBe('new');
    expect(run('find', [target, '-name', '.wh.*'])).toBe('');
  });

  test('three layers in a real overlay mount: the kernel hides the deleted file and the opaque directory\'s old content', async () => {
    const layer = (name: string, files: Record<string, string>): string => {
      const source = join(work, `stack-${name}`);
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(join(source, path, '..'), { recursive: true });
        writeFileSync(join(source, path), content);
      }
      run('tar', ['--format=pax', '-C', source, '-czf', `${source}.tar.gz`, '.']);
      return `${source}.tar.gz`;
    };
    const base = layer('base', { 'etc/a': 'a', 'etc/b': 'b', 'data/old1': '1', 'data/old2': '2', 'keep/x': 'x' });
    const middle = layer('middle', { 'etc/.wh.b': '', 'data/.wh..wh..opq': '', 'data/new': 'n' });
    const top = layer('top', { 'etc/c': 'c', 'keep/y': 'y' });
    const dirs = [0, 1, 2].map((index) => join(work, `layers/stack-${index}`));
    await Promise.all([base, middle, top].map((file, index) => unpackFile(file, dirs[index]!, OCI_GZIP)));

    const merged = join(work, 'stack-merged');
    mkdirSync(merged);
    run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${dirs[2]}:${dirs[1]}:${dirs[0]}`, merged]);
    try {
      expect(readdirSync(join(merged, 'etc')).sort()).toEqual(['a', 'c']);
      expect(readdirSync(join(merged, 'data')).sort()).toEqual(['new']);
      expect(readdirSync(join(merged, 'keep')).sort()).toEqual(['x', 'y']);
      expect(existsSync(join(merged, 'etc/b'))).toBe(false);
      expect(readFileSync(join(merged, 'data/new'), 'utf8')).toBe('n');
    } finally {
      run('umount', [merged]);
    }
    expect(hostMountsMentioning(merged)).toEqual([]);
  });
});

describe('hostile and broken layers: one line, nothing outside, no partial directory', () => {
  let outside: string;
  beforeAll(() => {
    outside = join(work, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'host secret');
  });

  const outsideListing = (): string[] => readdirSync(outside).sort();

  async function refused(name: string, bytes: Buffer, pattern: RegExp, options: { mediaType?: string; digest?: string; diffId?: string } = {}): Promise<void> {
    const target = join(work, 'hostile', name);
    const error = await unpackLayer(Readable.from([bytes]), {
      targetDirectory: target, mediaType: options.mediaType ?? OCI_TAR, digest: options.digest ?? sha256(bytes), diffId: options.diffId,
    }).then(() => null, (caught: Error) => caught);
    expect(error?.message).toMatch(pattern);
    expect(error?.message).not.toContain('\n');
    expect(existsSync(target)).toBe(false);
    expect(partialsNextTo(target)).toEqual([]);
    expect(outsideListing()).toEqual(['secret']);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('host secret');
    expect(lstatSync(join(outside, 'secret')).nlink).toBe(1);
  }

  test('"../" and absolute names are refused', async () => {
    await refused('dotdot', archive(member({ name: '../outside/escaped', content: 'x' })), /tar entry "\.\.\/outside\/escaped" escapes the layer directory/);
    await refused('dotdot-later', archive(member({ name: 'ok', content: 'fine' }), member({ name: 'a/../../outside/x', content: 'x' })), /escapes the layer directory/);
    await refused('absolute', archive(member({ name: `${outside}/escaped`, content: 'x' })), /is an absolute path/);
  });

  test('a symlink written earlier cannot be written through (absolute or climbing)', async () => {
    await refused('through-absolute', archive(member({ name: 'link', type: 'symlink', linkname: outside }), member({ name: 'link/pwned', content: 'x' })),
      /tar entry "link\/pwned" goes through a symlink that leads outside the layer directory/);
    await refused('through-relative', archive(member({ name: 'd', type: 'directory' }), member({ name: 'd/up', type: 'symlink', linkname: '../../outside' }), member({ name: 'd/up/pwned', content: 'x' })),
      /goes through a symlink that leads outside/);
    await refused('whiteout-through', archive(member({ name: 'link', type: 'symlink', linkname: outside }), member({ name: 'link/.wh.secret' })),
      /goes through a symlink that leads outside/);
  });

  test('hard links whose target leaves the layer are refused', async () => {
    await refused('hardlink-dotdot', archive(member({ name: 'h', type: 'hardlink', linkname: '../outside/secret' })), /hard link "h" → target "\.\.\/outside\/secret" escapes the layer directory/);
    await refused('hardlink-absolute', archive(member({ name: 'h', type: 'hardlink', linkname: join(outside, 'secret') })), /is an absolute path/);
    await refused('hardlink-through-symlink', archive(member({ name: 'link', type: 'symlink', linkname: outside }), member({ name: 'h', type: 'hardlink', linkname: 'link/secret' })),
      /hard link "h" → "link\/secret" goes through a symlink that leads outside/);
    await refused('hardlink-missing', archive(member({ name: 'h', type: 'hardlink', linkname: 'nothing' })), /which this layer does not have/);
  });

  test('a member named like an earlier symlink replaces the symlink; the file it pointed at is untouched', async () => {
    const bytes = archive(member({ name: 'victim', type: 'symlink', linkname: join(outside, 'secret') }), member({ name: 'victim', content: 'layer content' }));
    const target = join(work, 'layers/replaced-symlink');
    await unpackLayer(Readable.from([bytes]), { targetDirectory: target, mediaType: OCI_TAR, digest: sha256(bytes) });
    expect(lstatSync(join(target, 'victim')).isFile()).toBe(true);
    expect(readFileSync(join(target, 'victim'), 'utf8')).toBe('layer content');
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('host secret');
  });

  test('truncated archives, bad checksums and malformed PAX records', async () => {
    const whole = archive(member({ name: 'big', content: Buffer.alloc(10_000, 1) }), member({ name: 'after', content: 'x' }));
    await refused('truncated-tar', whole.subarray(0, 3000), /the archive ends in the middle of the content of "big": it is truncated/);
    await refused('truncated-header', whole.subarray(0, 512 + 10_240 + 100), /ends in the middle of a header/);
    const zipped = gzipSync(whole);
    await refused('truncated-gzip', zipped.subarray(0, zipped.length - 40), /gzip stream ends early: the blob is truncated/, { mediaType: OCI_GZIP });
    await refused('not-gzip', whole, /not valid gzip data/, { mediaType: OCI_GZIP });
    const corrupt = Buffer.from(whole);
    corrupt[0] = 0x41;
    await refused('checksum', corrupt, /wrong checksum/);
    await refused('bad-pax', archive(Buffer.concat([member({ name: 'p', type: 'pax', content: '99 path=x\n' })]), member({ name: 'f' })), /malformed record/);
  });

  test('digest and diff ID mismatches are refused after the whole stream was checked', async () => {
    const bytes = archive(member({ name: 'file', content: 'content' }));
    await refused('digest', bytes, /the blob's sha256 is sha256:[0-9a-f]{12}…, not sha256:0{12}…: the download is corrupt/, { digest: `sha256:${'0'.repeat(64)}` });
    const zipped = gzipSync(bytes);
    await refused('diff-id', zipped, /uncompressed tar's sha256 is .*not the image config's diff ID sha256:1{12}/, { mediaType: OCI_GZIP, diffId: `sha256:${'1'.repeat(64)}` });
    await refused('bad-digest', bytes, /layer digest "md5:abc" is not a sha256 digest/, { digest: 'md5:abc' });
  });

  test('zstd and unknown media types are refused by name', async () => {
    const bytes = archive(member({ name: 'file', content: 'x' }));
    await refused('zstd', bytes, /^layer media type "application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd" is zstd-compressed, which this agent cannot decompress/, { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' });
    await refused('unknown', bytes, /^media type "application\/vnd\.oci\.image\.config\.v1\+json" is not a filesystem layer/, { mediaType: 'application/vnd.oci.image.config.v1+json' });
    const unread = Readable.from([bytes]);
    await expect(unpackLayer(unread, { targetDirectory: join(work, 'hostile/unread'), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha256(bytes) })).rejects.toThrow(/zstd/);
    expect(unread.destroyed).toBe(true); // the refused stream is released, not left open
  });

  test('a source that fails half-way leaves nothing', async () => {
    const target = join(work, 'hostile/interrupted');
    const source = new Readable({ read() {} });
    source.push(member({ name: 'part', content: Buffer.alloc(4096, 2) }).subarray(0, 2048));
    setTimeout(() => source.destroy(new Error('connection reset by peer')), 20);
    await expect(unpackLayer(source, { targetDirectory: target, mediaType: OCI_TAR, digest: `sha256:${'2'.repeat(64)}` })).rejects.toThrow(/^layer sha256:2{12}…: connection reset by peer$/);
    expect(existsSync(target)).toBe(false);
    expect(partialsNextTo(target)).toEqual([]);
  });

  test('PAX xattrs naming overlayfs\'s own attributes are dropped with a warning', async () => {
    const bytes = archive(paxMember({ 'SCHILY.xattr.trusted.overlay.redirect': '/elsewhere', 'SCHILY.xattr.user.kept': 'v' }), member({ name: 'd', type: 'directory' }));
    const target = join(work, 'layers/forged-overlay-xattr');
    const result = await unpackLayer(Readable.from([bytes]), { targetDirectory: target, mediaType: OCI_TAR, digest: sha256(bytes) });
    expect(result.warnings).toEqual(['"d": trusted.overlay.redirect dropped (overlayfs\'s own attributes come only from whiteouts)']);
    const dump = run('getfattr', ['-h', '-d', '-m', '-', join(target, 'd')]);
    expect(dump).toContain('user.kept="v"');
    expect(dump).not.toContain('trusted.overlay');
  });
});

describe('atomic publishing', () => {
  test('an abandoned partial of a dead process is removed; a live one stays', () => {
    const parent = join(work, 'abandoned');
    mkdirSync(join(parent, 'layer.partial-999999999-0123abcd/sub'), { recursive: true });
    mkdirSync(join(parent, `layer.partial-${process.pid}-89abcdef`));
    expect(removeAbandonedPartials(parent)).toEqual([join(parent, 'layer.partial-999999999-0123abcd')]);
    expect(readdirSync(parent)).toEqual([`layer.partial-${process.pid}-89abcdef`]);
  });

  test('two unpacks of one layer at once: both succeed, one directory stays', async () => {
    const bytes = archive(member({ name: 'same', content: 'both' }));
    const target = join(work, 'layers/concurrent');
    const results = await Promise.all([1, 2].map(() => unpackLayer(Readable.from([bytes]), { targetDirectory: target, mediaType: OCI_TAR, digest: sha256(bytes) })));
    expect(results.map((result) => result.diffId)).toEqual([sha256(bytes), sha256(bytes)]);
    expect(readFileSync(join(target, 'same'), 'utf8')).toBe('both');
    expect(partialsNextTo(target)).toEqual([]);
  });
});

describe('memory stays flat', () => {
  test('a 200 MB layer (one 200 MB file) streams through: peak RSS grows by less than 50 MiB', { timeout: 180_000 }, async () => {
    const source = join(work, 'big');
    mkdirSync(source);
    const tar = join(work, 'big.tar');
    // asynchronously: made in one go, these take many seconds on a loaded machine, and a worker
    // blocked that long misses its runner's answers (vitest's "Timeout calling onTaskUpdate")
    const made = await promisify(execFile)('sh', ['-c', [
      `head -c ${200 * 1024 * 1024} /dev/urandom > ${join(source, 'blob')}`,
      `tar --format=pax -C ${source} -cf ${tar} .`,
      `gzip -1 -k ${tar}`,
      `sha256sum ${tar}.gz ${tar}`,
    ].join(' && ')], { maxBuffer: 1024 * 1024 });
    const [digest, diffId] = made.stdout.trim().split('\n').map((line) => `sha256:${line.split(' ')[0]}`);
    rmSync(source, { recursive: true });
    rmSync(tar);

    global.gc?.();
    const before = residentKiB();
    writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM, the kernel's peak-RSS mark, to now
    const started = process.hrtime.bigint();
    const result = await unpackLayer(createReadStream(`${tar}.gz`), { targetDirectory: join(work, 'layers/big'), mediaType: OCI_GZIP, digest, diffId });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const peakGrowthMiB = (peakKiB() - before) / 1024;
    console.log(`200 MiB layer: unpacked in ${seconds.toFixed(1)} s, peak RSS growth ${peakGrowthMiB.toFixed(1)} MiB`);
    expect(result.size).toBeGreaterThan(200 * 1024 * 1024);
    expect(statSync(join(work, 'layers/big/blob')).size).toBe(200 * 1024 * 1024);
    expect(peakGrowthMiB).toBeLessThan(50);
  });
});

function statusKiB(field: string): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((text) => text.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1]);
}
const residentKiB = (): number => statusKiB('VmRSS');
const peakKiB = (): number => statusKiB('VmHWM');

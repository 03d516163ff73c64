/*
 * "Which layer does this path come from" over three unpacked image layers and a container's
 * upper directory, checked against the kernel: the layers are stacked in a real overlay mount,
 * changed through it (a write that copies up, a deletion, a directory removed and made again),
 * and every directory the kernel's merged view shows must list exactly the entries
 * listMerged() computes from the layer directories alone — and every path it calls deleted
 * must be missing from the mount.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { unpackLayer } from '../agent/image/unpack';
import { listMerged, provenanceOf, type LayerStack } from '../agent/image/unpack/provenance';
import { hostMountsMentioning } from './helpers/kernel-witness';

let work: string;
let merged: string;
let stack: LayerStack;

const top = { kind: 'lower', index: 0 };
const middle = { kind: 'lower', index: 1 };
const base = { kind: 'lower', index: 2 };
const upper = { kind: 'upper', index: null };

async function layer(name: string, files: Record<string, string>): Promise<string> {
  const source = join(work, `source-${name}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(source, path, '..'), { recursive: true });
    writeFileSync(join(source, path), content);
  }
  const tarball = `${source}.tar.gz`;
  execFileSync('tar', ['--format=pax', '-C', source, '-czf', tarball, '.']);
  const digest = `sha256:${createHash('sha256').update(readFileSync(tarball)).digest('hex')}`;
  const target = join(work, 'layers', name);
  await unpackLayer(createReadStream(tarball), { targetDirectory: target, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest });
  return target;
}

beforeAll(async () => {
  work = mkdtempSync('/tmp/cl-image-provenance-');
  const baseDir = await layer('base', {
    'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'etc/group': 'root:x:0:\n', 'etc/motd': 'hello\n',
    'data/old1': '1', 'data/old2': '2', 'data/sub/deep': 'd', 'usr/bin/tool': 'v1', 'var/log/app.log': 'log', 'opt/app/conf': 'c1',
  });
  const middleDir = await layer('middle', {
    'etc/.wh.motd': '', 'data/.wh..wh..opq': '', 'data/new': 'n', 'usr/bin/tool': 'v2', 'var/.wh.log': '',
  });
  const topDir = await layer('top', { 'etc/hostname': 'box\n', 'opt/app/conf': 'c2', 'data/newer': 'nn' });
  stack = { lower: [topDir, middleDir, baseDir], upper: join(work, 'upper') };
  mkdirSync(stack.upper!);
  mkdirSync(join(work, 'work'));
  merged = join(work, 'merged');
  mkdirSync(merged);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${stack.lower.join(':')},upperdir=${stack.upper},workdir=${join(work, 'work')}`, merged]);

  // A container's changes, made through the kernel's overlay.
  appendFileSync(join(merged, 'etc/passwd'), 'learner:x:1000:1000::/home:/bin/sh\n'); // copy-up
  rmSync(join(merged, 'etc/group')); // whiteout in upper
  rmSync(join(merged, 'opt/app'), { recursive: true }); // rm -rf …
  mkdirSync(join(merged, 'opt/app')); // … and mkdir: an opaque directory in upper
  writeFileSync(join(merged, 'opt/app/fresh'), 'f');
  writeFileSync(join(merged, 'upper-only'), 'u');
});

afterAll(() => {
  if (merged && hostMountsMentioning(merged).length > 0) execFileSync('umount', [merged]);
  expect(hostMountsMentioning(work)).toEqual([]);
  rmSync(work, { recursive: true, force: true });
});

function kernelType(path: string): string {
  const stat = lstatSync(path);
  return stat.isDirectory() ? 'directory' : stat.isSymbolicLink() ? 'symlink' : stat.isFile() ? 'file' : 'other';
}

describe('listMerged agrees with the kernel\'s merged view', () => {
  test('every directory: the same names, types and sizes as readdir/lstat on the overlay mount', () => {
    const directories: string[] = [];
    const walk = (path: string): void => {
      directories.push(path);
      const listing = listMerged(stack, path);
      const kernelNames = readdirSync(join(merged, path)).sort();
      expect({ path, names: listing.entries.map((entry) => entry.name) }).toEqual({ path, names: kernelNames });
      for (const entry of listing.entries) {
        expect({ path: entry.path, type: entry.type }).toEqual({ path: entry.path, type: kernelType(join(merged, entry.path)) });
        if (entry.type === 'file') expect({ path: entry.path, size: entry.size }).toEqual({ path: entry.path, size: lstatSync(join(merged, entry.path)).size });
        if (entry.type === 'directory') walk(entry.path);
      }
    };
    walk('/');
    expect(directories).toEqual(expect.arrayContaining(['/', '/etc', '/data', '/opt/app', '/usr/bin', '/var']));
  });

  test('each entry is marked with its layer; deleted names say what deleted them', () => {
    const etc = listMerged(stack, '/etc');
    expect(etc.entries.map(({ name, layer, copiedUp }) => ({ name, layer: { kind: layer.kind, index: layer.index }, copiedUp }))).toEqual([
      { name: 'hostname', layer: top, copiedUp: false },
      { name: 'passwd', layer: upper, copiedUp: true },
    ]);
    expect(etc.deleted.map(({ name, hiddenBy }) => ({ name, kind: hiddenBy.kind, layer: hiddenBy.layer.kind, index: hiddenBy.layer.index }))).toEqual([
      { name: 'group', kind: 'whiteout', layer: 'upper', index: null },
      { name: 'motd', kind: 'whiteout', layer: 'lower', index: 1 },
    ]);
    expect(listMerged(stack, '/data').directory.mergedFrom.map(({ kind, index }) => ({ kind, index }))).toEqual([top, middle]);
  });
});

describe('provenanceOf one path', () => {
  const of = (path: string) => {
    const found = provenanceOf(stack, path);
    const ref = (layer: { kind: string; index: number | null } | null) => (layer ? { kind: layer.kind, index: layer.index } : null);
    return {
      state: found.state,
      layer: ref(found.layer),
      copiedUp: found.copiedUp,
      deletedBy: found.deletedBy && { kind: found.deletedBy.kind, path: found.deletedBy.path, layer: ref(found.deletedBy.layer) },
      hidden: found.hiddenCopies.map((copy) => ({ layer: ref(copy.layer), by: copy.hiddenBy.kind })),
    };
  };

  test('visible paths: the layer they come from, and the copies they cover', () => {
    expect(of('/etc/passwd')).toEqual({ state: 'visible', layer: upper, copiedUp: true, deletedBy: null, hidden: [{ layer: base, by: 'covered' }] });
    expect(of('/etc/hostname')).toMatchObject({ state: 'visible', layer: top, copiedUp: false, hidden: [] });
    expect(of('/usr/bin/tool')).toMatchObject({ state: 'visible', layer: middle, hidden: [{ layer: base, by: 'covered' }] });
    expect(of('/opt/app/fresh')).toMatchObject({ state: 'visible', layer: upper, copiedUp: false });
    expect(of('/upper-only')).toMatchObject({ state: 'visible', layer: upper, copiedUp: false, hidden: [] });
    expect(provenanceOf(stack, '/data/../etc/./hostname/').path).toBe('/etc/hostname');
  });

  test('deleted paths: by a whiteout, an ancestor\'s whiteout, or an opaque directory — and the kernel agrees', () => {
    const deleted = {
      '/etc/group': { kind: 'whiteout', path: '/etc/group', layer: upper },
      '/etc/motd': { kind: 'whiteout', path: '/etc/motd', layer: middle },
      '/var/log/app.log': { kind: 'whiteout', path: '/var/log', layer: middle },
      '/data/old1': { kind: 'opaque-directory', path: '/data', layer: middle },
      '/data/sub/deep': { kind: 'opaque-directory', path: '/data', layer: middle },
      '/opt/app/conf': { kind: 'opaque-directory', path: '/opt/app', layer: upper },
    };
    for (const [path, deletedBy] of Object.entries(deleted)) {
      expect({ path, ...of(path) }).toMatchObject({ path, state: 'deleted', layer: null, deletedBy });
      expect({ path, inMergedView: existsSync(join(merged, path)) }).toEqual({ path, inMergedView: false });
    }
    expect(of('/opt/app/conf').hidden).toEqual([{ layer: top, by: 'opaque-directory' }, { layer: base, by: 'opaque-directory' }]);
    expect(of('/no/such/file')).toEqual({ state: 'absent', layer: null, copiedUp: false, deletedBy: null, hidden: [] });
  });

  test('bad questions get one-line answers', () => {
    expect(() => provenanceOf(stack, 'etc/passwd')).toThrow(/^path must be absolute inside the container: "etc\/passwd"$/);
    expect(() => listMerged(stack, '/etc/passwd')).toThrow(/^"\/etc\/passwd" is not a directory$/);
    expect(() => listMerged(stack, '/etc/group')).toThrow(/^"\/etc\/group" is not in the container's filesystem$/);
  });
});

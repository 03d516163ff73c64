/*
 * Shifted layer copies (agent/runtime/shifted-layers.ts), the fallback of user-namespaced
 * containers where idmapped mounts are refused: owners translated through the mapping (each inode
 * once: hard links share one), set-ID bits kept across chown, whiteouts and opaque xattrs kept
 * (`cp -a`), one copy per (layer, mapping); the collector deletes only copies no record names, puts
 * back a copy claimed while it looked, and sweeps half-built copies of processes that are gone.
 * Files under /tmp/cl-shifted-*; stat(2), getxattr(2) and mknod(2) are the witnesses.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { lgetxattr } from '../agent/kernel/directory-fds';
import { baseLayerOf, collectShiftedLayers, mappingKey, shiftedLayer } from '../agent/runtime/shifted-layers';

const root = mkdtempSync('/tmp/cl-shifted-');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const RANGE = { uid: [{ containerID: 0, hostID: 300000, size: 65536 }], gid: [{ containerID: 0, hostID: 300000, size: 65536 }] };

function layer(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'opaque'));
  writeFileSync(join(dir, 'bin', 'tool'), 'x');
  chmodSync(join(dir, 'bin', 'tool'), 0o4755);
  linkSync(join(dir, 'bin', 'tool'), join(dir, 'bin', 'tool-link'));
  writeFileSync(join(dir, 'owned'), 'y');
  execFileSync('chown', ['1234:2345', join(dir, 'owned')]);
  symlinkSync('tool', join(dir, 'bin', 'sym'));
  execFileSync('mknod', [join(dir, 'gone'), 'c', '0', '0']);
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(dir, 'opaque')]);
  return dir;
}

test('a shifted copy: owners through the mapping, set-ID bits, hard links, symlinks, whiteouts, opaque xattrs; made once', () => {
  const base = layer('a'.repeat(64));
  const copy = shiftedLayer(base, RANGE);
  expect(copy).toBe(`${base}-shifted-300000`);
  expect(baseLayerOf(copy)).toBe(base);
  const tool = lstatSync(join(copy, 'bin', 'tool'));
  expect({ uid: tool.uid, gid: tool.gid, mode: tool.mode & 0o7777, links: tool.nlink }).toEqual({ uid: 300000, gid: 300000, mode: 0o4755, links: 2 });
  expect(lstatSync(join(copy, 'owned'))).toMatchObject({ uid: 301234, gid: 302345 });
  expect(lstatSync(join(copy, 'bin', 'sym')).isSymbolicLink()).toBe(true);
  expect(lstatSync(join(copy, 'bin', 'sym')).uid).toBe(300000);
  const whiteout = lstatSync(join(copy, 'gone'));
  expect({ char: whiteout.isCharacterDevice(), rdev: whiteout.rdev }).toEqual({ char: true, rdev: 0 });
  expect(lgetxattr(join(copy, 'opaque'), 'trusted.overlay.opaque')?.toString()).toBe('y');
  expect(lstatSync(join(base, 'bin', 'tool')).uid).toBe(0);
  // Made once: the same directory (same inode) for the next container of this mapping.
  const inode = lstatSync(copy).ino;
  expect(lstatSync(shiftedLayer(base, RANGE)).ino).toBe(inode);
  // Another mapping, another copy, named by a hash of both mappings.
  const other = { uid: [{ containerID: 0, hostID: 400000, size: 1000 }], gid: [{ containerID: 0, hostID: 400000, size: 1000 }] };
  expect(mappingKey(other)).toMatch(/^[a-f0-9]{16}$/);
  expect(shiftedLayer(base, other)).toBe(`${base}-shifted-${mappingKey(other)}`);
});

test('the collector: unused copies go, used ones stay, a copy claimed while it looked is put back, dead builders are swept', () => {
  const base = layer('b'.repeat(64));
  const used = shiftedLayer(base, RANGE);
  const unused = shiftedLayer(base, { uid: [{ containerID: 0, hostID: 500000, size: 65536 }], gid: [{ containerID: 0, hostID: 500000, size: 65536 }] });
  const claimedLate = shiftedLayer(base, { uid: [{ containerID: 0, hostID: 600000, size: 65536 }], gid: [{ containerID: 0, hostID: 600000, size: 65536 }] });
  const deadBuilder = join(root, `.building-${'b'.repeat(64)}-shifted-700000-999999999`);
  const liveBuilder = join(root, `.building-${'b'.repeat(64)}-shifted-800000-${process.pid}`);
  mkdirSync(deadBuilder);
  mkdirSync(liveBuilder);
  // A record claims `claimedLate` exactly while the collector has it renamed away (the race it guards against).
  let claims = 0;
  const removed = collectShiftedLayers([root], () => {
    const duringRemoval = readdirSync(root).some((name) => name.startsWith('.removing-') && name.includes('-shifted-600000-'));
    if (duringRemoval) claims += 1;
    return duringRemoval ? [used, claimedLate] : [used];
  });
  expect(claims).toBe(1);
  // (The first test's two copies of the other layer, which no record names either, go too.)
  expect(removed.filter((path) => path.startsWith(base))).toEqual([unused]);
  expect(removed.filter((path) => !path.startsWith(base))).toHaveLength(2);
  expect([existsSync(used), existsSync(unused), existsSync(claimedLate)]).toEqual([true, false, true]);
  expect([existsSync(deadBuilder), existsSync(liveBuilder)]).toEqual([false, true]);
  expect(readdirSync(root).filter((name) => name.startsWith('.removing-'))).toEqual([]);
  expect(existsSync(base)).toBe(true);
});

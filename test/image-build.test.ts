/*
 * The labs' offline images (agent/image/build.ts, agent/image/tar-writer.ts): a layer the agent
 * writes is a tar that GNU tar reads back entry for entry (an independent witness), and the image
 * built from such layers unpacks as any other does — a deletion becomes an overlayfs whiteout
 * (a 0:0 character device), an opaque directory gets trusted.overlay.opaque=y, `image inspect`
 * shows one build step per layer, and a container of it sees the merged result. State root:
 * /tmp/cl-image-build-*.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { writeTar } from '../agent/image/tar-writer';
import { lgetxattr } from '../agent/kernel/directory-fds';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { execCollect } from './helpers/exec';
import { leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { waitFor } from './helpers/wait';

let root: string;
let runtime: ContainerRuntime;
beforeAll(() => {
  root = mkdtempSync('/tmp/cl-image-build-');
  runtime = openRuntime({ stateRoot: root });
});
afterAll(() => {
  runtime.close();
  rmSync(root, { recursive: true, force: true });
});

test('GNU tar reads the tar writer\'s archive back: names (long ones too), types, modes, contents', () => {
  const long = `deep/${'d'.repeat(90)}/${'f'.repeat(60)}.txt`;
  const tar = writeTar([
    { type: 'directory', path: 'etc' },
    { type: 'file', path: 'etc/motd', content: Buffer.from('hello\n') },
    { type: 'file', path: 'bin/tool', content: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    { type: 'symlink', path: 'etc/link', target: 'motd' },
    { type: 'file', path: long, content: Buffer.alloc(1000, 'x') },
  ]);
  const file = join(root, 'writer.tar');
  writeFileSync(file, tar);
  const listed = execFileSync('tar', ['--list', '--verbose', '--numeric-owner', '--file', file], { encoding: 'utf8' }).trim().split('\n');
  expect(listed.map((line) => line.split(/\s+/)[0])).toEqual(['drwxr-xr-x', '-rw-r--r--', '-rwxr-xr-x', 'lrwxrwxrwx', '-rw-r--r--']);
  expect(listed.map((line) => line.slice(line.indexOf(' 2023-') + 18))).toEqual(['etc/', 'etc/motd', 'bin/tool', 'etc/link -> motd', long]);
  expect(execFileSync('tar', ['--extract', '--to-stdout', '--file', file, 'etc/motd'], { encoding: 'utf8' })).toBe('hello\n');
});

test('a built image: whiteouts and opaque directories as overlayfs reads them, one step per layer, a container of it', async () => {
  const { images } = await runtime.images.build({
    name: 'lab/built:1',
    config: { Cmd: ['/bin/sleep', '60'] },
    layers: [
      { createdBy: 'COPY', files: { '/etc/banner': 'hi\n', '/opt/data/a.txt': 'a\n', '/opt/keep/k.txt': 'k\n' } },
      { createdBy: 'RUN rm', delete: ['/etc/banner'], opaque: ['/opt/data'], files: { '/opt/data/new.txt': 'new\n' } },
    ],
  });
  expect(images.map((image) => image.name)).toEqual(['docker.io/lab/built:1']);
  const details = runtime.images.inspect('lab/built:1');
  expect(details.layers.map((layer) => layer.createdBy)).toEqual(['ADD busybox /', 'COPY', 'RUN rm']);
  const top = details.layers[2]!.directory;
  const whiteout = lstatSync(join(top, 'etc', 'banner'));
  expect({ char: whiteout.isCharacterDevice(), rdev: whiteout.rdev }).toEqual({ char: true, rdev: 0 });
  expect(lgetxattr(join(top, 'opt', 'data'), 'trusted.overlay.opaque')?.toString()).toBe('y');

  const record = await runtime.run({ name: 'built', image: 'lab/built:1', net: 'none' });
  const seen = await execCollect(runtime, record.id, ['/bin/sh', '-c', 'ls /opt/data; ls /opt/keep; test -e /etc/banner || echo no-banner']);
  expect(seen.stdout).toBe('new.txt\nk.txt\nno-banner\n');
  await runtime.remove(record.id, true);
  await waitFor(() => runtime.list().length, (count) => count === 0);
  await runtime.images.remove('lab/built:1');
  const pruned = await runtime.images.prune();
  expect(pruned.layers).toHaveLength(3);
  expect(leftovers(root, [record])).toEqual(NONE_LEFT);
});

/*
 * The busybox lower layer: built from the host's static busybox, complete, runnable on its own
 * (chroot into it with nothing from the host), built once even by concurrent agents, and refused
 * with one clear line when the host's busybox is missing or dynamically linked.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, test } from 'vitest';
import { busyboxImageStatus, ensureBusyboxImage, findStaticBusybox } from '../agent/runtime/image/busybox';
import { readElfFacts } from '../agent/runtime/image/elf';
import { LabError } from '../agent/errors';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-image-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const hostBusybox = findStaticBusybox();
// `--list-full` names busybox itself too (bin/busybox): that one is the binary, not a link.
const listed = spawnSync(hostBusybox, ['--list-full'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
const applets = listed.filter((applet) => applet !== 'bin/busybox');

function stateRoot(name: string): string {
  return path.join(scratch, name);
}

function buildDirsIn(root: string): string[] {
  const images = path.join(root, 'images');
  return fs.existsSync(images) ? fs.readdirSync(images).filter((entry) => entry.startsWith('.busybox-build-')) : [];
}

describe('building the layer', () => {
  const root = stateRoot('build');
  const image = ensureBusyboxImage(root);

  test('is placed at <stateRoot>/images/busybox/rootfs and reported ready', () => {
    expect(image).toEqual({ name: 'busybox', path: path.join(root, 'images/busybox/rootfs') });
    expect(busyboxImageStatus(root)).toEqual({ ...image, ready: true });
    expect(buildDirsIn(root)).toEqual([]);
  });

  test('holds a byte-identical, static copy of the host busybox', () => {
    const copy = path.join(image.path, 'bin/busybox');
    expect(fs.readFileSync(copy).equals(fs.readFileSync(hostBusybox))).toBe(true);
    expect(readElfFacts(copy)).toEqual({ interpreter: null, arch: process.arch });
    expect(fs.statSync(copy).mode & 0o777).toBe(0o755);
  });

  test('has every applet as a link that resolves to the layer busybox', () => {
    expect(applets.length).toBeGreaterThan(100);
    const busyboxInode = fs.statSync(path.join(image.path, 'bin/busybox')).ino;
    for (const applet of applets) {
      const link = path.join(image.path, applet);
      expect(fs.lstatSync(link).isSymbolicLink(), applet).toBe(true);
      expect(fs.readlinkSync(link).startsWith('/'), `${applet} must be relative`).toBe(false);
      expect(fs.statSync(link).ino, applet).toBe(busyboxInode);
    }
  });

  test('has /etc files and mount-point directories with the right modes', () => {
    const read = (file: string) => fs.readFileSync(path.join(image.path, file), 'utf8');
    expect(read('etc/passwd')).toMatch(/^root:x:0:0:root:\/root:\/bin\/sh$/m);
    expect(read('etc/passwd')).toMatch(/^nobody:x:65534:65534:/m);
    expect(read('etc/group')).toMatch(/^root:x:0:$/m);
    expect(read('etc/group')).toMatch(/^tty:x:5:$/m);
    expect(read('etc/hostname')).toBe('busybox\n');
    expect(read('etc/hosts')).toMatch(/^127\.0\.0\.1\s+localhost$/m);
    expect(read('etc/resolv.conf')).toBe('');
    for (const dir of ['proc', 'sys', 'dev', 'root', 'home', 'var', 'run', 'bin', 'sbin', 'usr/bin', 'usr/sbin']) {
      expect(fs.statSync(path.join(image.path, dir)).isDirectory(), dir).toBe(true);
    }
    expect(fs.statSync(path.join(image.path, 'tmp')).mode & 0o7777).toBe(0o1777);
  });

  test('runs on its own: a shell chrooted into the layer finds its applets and files', () => {
    // chroot (not the runtime's pivot_root) is only the witness here: nothing from the host is
    // reachable, so this proves the layer is self-sufficient.
    const result = spawnSync('chroot', [image.path, '/bin/sh', '-c', 'cat /etc/hostname; ls /bin | grep -c .; id -un; which wget'], {
      encoding: 'utf8',
      env: { PATH: '/bin:/sbin:/usr/bin:/usr/sbin' },
    });
    expect(result.stderr).toBe('');
    const [hostname, binCount, user, wget] = result.stdout.trim().split('\n');
    expect(hostname).toBe('busybox');
    expect(Number(binCount)).toBe(listed.filter((applet) => applet.startsWith('bin/')).length);
    expect(user).toBe('root');
    expect(wget).toBe('/usr/bin/wget');
    expect(result.status).toBe(0);
  });

  test('a second call is a no-op: same directory, same inode, same metadata', () => {
    const before = fs.statSync(image.path);
    const metadata = fs.readFileSync(path.join(root, 'images/busybox/image.json'), 'utf8');
    expect(ensureBusyboxImage(root)).toEqual(image);
    expect(fs.statSync(image.path).ino).toBe(before.ino);
    expect(fs.statSync(image.path).mtimeMs).toBe(before.mtimeMs);
    expect(fs.readFileSync(path.join(root, 'images/busybox/image.json'), 'utf8')).toBe(metadata);
  });
});

test('concurrent builders in separate processes end with one complete layer and no leftovers', async () => {
  const root = stateRoot('race');
  const bundle = path.join(scratch, 'busybox-bundle.js');
  buildSync({
    entryPoints: [path.join(__dirname, '../agent/runtime/image/busybox.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: bundle,
    logLevel: 'silent',
  });
  const builders = Array.from(
    { length: 4 },
    () =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['-e', `console.log(require(${JSON.stringify(bundle)}).ensureBusyboxImage(${JSON.stringify(root)}).path)`]);
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
        child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      }),
  );
  const results = await Promise.all(builders);
  for (const result of results) {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(path.join(root, 'images/busybox/rootfs'));
  }
  expect(fs.readdirSync(path.join(root, 'images'))).toEqual(['busybox']);
  for (const applet of applets) expect(fs.existsSync(path.join(root, 'images/busybox/rootfs', applet)), applet).toBe(true);
});

test('a build directory left by a dead agent is removed by the next build', () => {
  const root = stateRoot('abandoned');
  // PID 0 never names a live process: this is what a crashed builder leaves behind.
  const abandoned = path.join(root, 'images/.busybox-build-0-abc123');
  fs.mkdirSync(path.join(abandoned, 'rootfs/bin'), { recursive: true });
  ensureBusyboxImage(root);
  expect(fs.existsSync(abandoned)).toBe(false);
  expect(busyboxImageStatus(root).ready).toBe(true);
});

describe('refusing a busybox that cannot work', () => {
  function failure(root: string, busybox: string | string[]): LabError {
    try {
      ensureBusyboxImage(root, busybox);
    } catch (error) {
      return error as LabError;
    }
    throw new Error('expected ensureBusyboxImage to throw');
  }

  test('missing: one line naming where it looked and how to install it', () => {
    const root = stateRoot('missing');
    const error = failure(root, ['/nonexistent/bin/busybox', '/nonexistent/usr/bin/busybox']);
    expect(error).toBeInstanceOf(LabError);
    expect(error.message).toBe(
      "busybox not found at /nonexistent/bin/busybox or /nonexistent/usr/bin/busybox: install Debian's busybox-static (apt-get install busybox-static)",
    );
    expect(busyboxImageStatus(root).ready).toBe(false);
    expect(buildDirsIn(root)).toEqual([]);
  });

  test('dynamically linked: names the loader it would need', () => {
    const root = stateRoot('dynamic');
    const dynamic = '/bin/ls'; // any dynamically linked program stands in for a non-static busybox
    const interpreter = readElfFacts(dynamic)?.interpreter;
    expect(interpreter).toMatch(/^\/lib.*ld-linux/);
    const error = failure(root, dynamic);
    expect(error.message).toBe(
      `busybox at /bin/ls is dynamically linked (it needs ${interpreter}, which a container does not have): install Debian's busybox-static (apt-get install busybox-static)`,
    );
    expect(error.message).not.toContain('\n');
    expect(busyboxImageStatus(root).ready).toBe(false);
    expect(buildDirsIn(root)).toEqual([]);
  });

  test('not an executable at all', () => {
    const root = stateRoot('not-elf');
    const text = path.join(scratch, 'busybox.txt');
    fs.writeFileSync(text, '#!/bin/sh\necho not really busybox\n');
    expect(failure(root, text).message).toBe(`${text} is not an ELF executable: install Debian's busybox-static (apt-get install busybox-static)`);
    expect(failure(root, scratch).message).toBe(`${scratch} is not an ELF executable: install Debian's busybox-static (apt-get install busybox-static)`);
  });
});

/*
 * A container's files read from outside (agent/inspect/container-files.ts), on real containers:
 * the "app" image this file builds (./helpers/runnable-images.ts: a base layer, a layer with a
 * whiteout and an opaque directory, a tool layer) is imported into a runtime of its own and run.
 * The witnesses are the container itself — `ls -a` and `cat` run inside it through exec, the
 * kernel's merged overlay — and the layer directories on disk. Paths and symlinks that try to
 * lead out of the container's root are refused, and nothing of the host is read.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerLayers, listContainerFiles, readContainerFile } from '../agent/inspect/container-files';
import { FILES_READ_LIMIT } from '../agent/protocol';
import type { ContainerRecord, FileLayer } from '../agent/protocol';
import { execCollect } from './helpers/exec';
import { APP_CREATED_BY, buildRunnableImages } from './helpers/runnable-images';
import type { RunnableImages } from './helpers/runnable-images';
import { useRuntime } from './helpers/runtime-fixture';
import { waitFor } from './helpers/wait';

const fixture = useRuntime('cf-files');
let scratch: string;
let images: RunnableImages;
let APP = '';
let container: ContainerRecord;

const runtime = () => fixture.runtime();
const stack = () => runtime().layerStack(container.id);
/** "upper", or the image layer's number (1 is the base). */
const layerName = (layer: FileLayer): string | number => (layer === 'upper' ? 'upper' : layer.number);

/** What `ls -a` inside the container shows (one name a line). */
async function lsInside(id: string, path: string): Promise<string[]> {
  const result = await execCollect(runtime(), id, ['/bin/busybox', 'ls', '-a1', path]);
  expect(result.code).toBe(0);
  return result.stdout.split('\n').filter((name) => name !== '' && name !== '.' && name !== '..').sort();
}

async function shInside(id: string, script: string): Promise<string> {
  const result = await execCollect(runtime(), id, ['/bin/sh', '-c', script]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  scratch = mkdtempSync('/tmp/cl-cf-files-src-');
  images = buildRunnableImages(scratch, { tall: false });
  const imported = await runtime().images.import(images.layout.dir, 'cf-lab/app');
  APP = imported.images.find((image) => image.name.endsWith(':app'))!.name;
  container = await fixture.run({ image: APP, name: 'cf-files', user: '0', entrypoint: ['/bin/sleep'], args: ['60'] });
  // The container's own changes: a new directory, a copied-up file, symlinks that try to get out.
  await shInside(container.id, [
    'mkdir /data', 'echo mine > /data/own.txt', 'echo "changed:x:9:9::/:/bin/sh" >> /usr/share/accounts/passwd',
    'ln -s ../../../../../../etc /data/up', 'ln -s /etc/passwd /data/abs', 'ln -s / /data/root',
    '/bin/busybox mkfifo /data/pipe', '/bin/busybox dd if=/dev/zero of=/data/big bs=1024 count=2600 2>/dev/null',
  ].join(' && '));
}, 120_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('a container\'s files, read from outside', () => {
  test('container.layers: upper on top, then every image layer top first with its build step', () => {
    const answer = containerLayers(stack());
    expect(answer.layers.map((layer) => layer.kind)).toEqual(['upper', 'lower', 'lower', 'lower']);
    expect(answer.layers[0]!.directory).toBe(container.rootfs!.upper);
    expect(answer.layers.slice(1).map((layer) => layer.directory)).toEqual(container.rootfs!.lower);
    expect(answer.layers.slice(1).map((layer) => layer.imageLayer?.number)).toEqual([3, 2, 1]);
    expect(answer.layers.slice(1).map((layer) => layer.imageLayer?.createdBy)).toEqual([...APP_CREATED_BY].reverse());
    expect(answer.layers.slice(1).map((layer) => layer.imageLayer?.digest)).toEqual([...images.app.layers].reverse().map((layer) => layer.digest));
  });

  test('/ lists what ls in the container lists, each entry with its layer', async () => {
    const root = listContainerFiles(stack(), '/');
    // The kernel's merged view has mount points of its own (proc, dev, sys) that no layer holds.
    const inside = await lsInside(container.id, '/');
    expect(root.entries.map((entry) => entry.name).every((name) => inside.includes(name))).toBe(true);
    const byName = new Map(root.entries.map((entry) => [entry.name, entry]));
    expect(layerName(byName.get('bin')!.layer)).toBe(1);
    expect(layerName(byName.get('data')!.layer)).toBe('upper');
    expect(byName.get('data')!.type).toBe('directory');
    // /usr is in base and (copied-up passwd) upper: a merged directory, shown from the top one.
    expect(layerName(byName.get('usr')!.layer)).toBe('upper');
    const usr = listContainerFiles(stack(), '/usr');
    expect(usr.mergedFrom.map(layerName)).toEqual(['upper', 3, 1]);
  });

  test('a whiteout: /etc/motd is gone in the merged view, and the listing says which layer deleted it', async () => {
    const etc = listContainerFiles(stack(), '/etc');
    expect(etc.entries.map((entry) => entry.name)).toEqual(await lsInside(container.id, '/etc'));
    expect(etc.entries.some((entry) => entry.name === 'motd')).toBe(false);
    expect(etc.hidden).toEqual([{ name: 'motd', path: '/etc/motd', hiddenBy: 'whiteout', byLayer: expect.objectContaining({ number: 2 }) }]);
    const passwd = etc.entries.find((entry) => entry.name === 'passwd')!;
    expect(passwd).toMatchObject({ type: 'symlink', target: '../usr/share/accounts/passwd' });
    expect(layerName(passwd.layer)).toBe(1);
  });

  test('an opaque directory: /opt/app shows only its own layer, the base\'s old.txt hidden by it', async () => {
    const app = listContainerFiles(stack(), '/opt/app');
    expect(app.opaque).toBe(true);
    expect(app.entries.map((entry) => entry.name)).toEqual(await lsInside(container.id, '/opt/app'));
    expect(app.entries.map((entry) => [entry.name, layerName(entry.layer)])).toEqual([['new.txt', 2]]);
    expect(app.hidden).toEqual([{ name: 'old.txt', path: '/opt/app/old.txt', hiddenBy: 'opaque-directory', byLayer: expect.objectContaining({ number: 2 }) }]);
    expect(listContainerFiles(stack(), '/opt').entries.find((entry) => entry.name === 'app')!.opaque).toBe(true);
  });

  test('reading follows symlinks as the container does; a copied-up file is read from upper, as cat shows it', async () => {
    const passwd = readContainerFile(stack(), '/etc/passwd');
    expect(passwd.resolvedPath).toBe('/usr/share/accounts/passwd');
    expect(layerName(passwd.layer)).toBe('upper');
    expect(Buffer.from(passwd.data, 'base64').toString()).toBe(await shInside(container.id, 'cat /etc/passwd'));
    expect(Buffer.from(passwd.data, 'base64').toString()).toContain('changed:x:9:9');
    const listed = listContainerFiles(stack(), '/usr/share/accounts').entries.find((entry) => entry.name === 'passwd')!;
    expect(listed.copiedUp).toBe(true);
    // /etc/group is an absolute symlink: absolute inside the container, not the host's /etc/group.
    const group = readContainerFile(stack(), '/etc/group');
    expect(group.resolvedPath).toBe('/usr/share/accounts/group');
    expect(layerName(group.layer)).toBe(1);
    expect(Buffer.from(group.data, 'base64').toString()).toBe(await shInside(container.id, 'cat /etc/group'));
    expect(Buffer.from(readContainerFile(stack(), '/data/abs').data, 'base64').toString()).toBe(await shInside(container.id, 'cat /etc/passwd'));
    // A symlink to / is the container's root: its /etc/shadow does not exist, the host's is not read.
    expect(existsSync('/etc/shadow')).toBe(true);
    expect(() => readContainerFile(stack(), '/data/root/etc/shadow')).toThrow(/"\/data\/root\/etc\/shadow" is not in cf-files's filesystem/);
  });

  test('paths and symlinks that lead out of the root are refused in one line', () => {
    expect(() => readContainerFile(stack(), '/../../etc/hostname')).toThrow(/leads out of cf-files's root filesystem: refused/);
    expect(() => listContainerFiles(stack(), '/..')).toThrow(/leads out of cf-files's root filesystem: refused/);
    expect(() => readContainerFile(stack(), '/data/up/hostname')).toThrow(/leads out of cf-files's root filesystem: refused/);
    expect(() => listContainerFiles(stack(), '/data/up')).toThrow(/leads out/);
    expect(() => readContainerFile(stack(), 'etc/passwd')).toThrow(/path must be absolute inside the container/);
    // A symlink planted in the upper dir from the host side, pointing at the host's /: still the container's root.
    symlinkSync('/etc', join(container.rootfs!.upper, 'data', 'hostetc'));
    expect(() => readContainerFile(stack(), '/data/hostetc/shadow')).toThrow(/not in cf-files's filesystem/);
    expect(Buffer.from(readContainerFile(stack(), '/data/hostetc/passwd').data, 'base64').toString()).not.toBe(readFileSync('/etc/passwd', 'utf8'));
  });

  test('only regular files are read, in chunks of at most 1 MiB; a FIFO does not block', () => {
    expect(() => readContainerFile(stack(), '/data/pipe')).toThrow(/is a fifo in cf-files, not a regular file/);
    expect(() => readContainerFile(stack(), '/etc')).toThrow(/is a directory in cf-files, not a regular file/);
    expect(() => readContainerFile(stack(), '/data/missing')).toThrow(/is not in cf-files's filesystem/);
    expect(() => readContainerFile(stack(), '/etc/motd')).toThrow(/deleted: a whiteout hides it/);
    const size = 2600 * 1024;
    const first = readContainerFile(stack(), '/data/big', 0, 10 * FILES_READ_LIMIT);
    expect(first).toMatchObject({ size, offset: 0, eof: false });
    expect(Buffer.from(first.data, 'base64').length).toBe(FILES_READ_LIMIT);
    let offset = 0;
    let total = 0;
    for (;;) {
      const chunk = readContainerFile(stack(), '/data/big', offset);
      total += Buffer.from(chunk.data, 'base64').length;
      offset += Buffer.from(chunk.data, 'base64').length;
      if (chunk.eof) break;
    }
    expect(total).toBe(size);
    expect(() => readContainerFile(stack(), '/data/big', size + 1)).toThrow(/past the end/);
  });

  test('a stopped container is still browsable: the layers outlive the mount', async () => {
    const record = await fixture.run({ image: APP, name: 'cf-stopped', user: '0', entrypoint: ['/bin/sh'], args: ['-c', 'echo bye > /bye.txt'] });
    await waitFor(() => runtime().inspect(record.id).status, (status) => status === 'stopped');
    const stopped = runtime().layerStack(record.id);
    const root = listContainerFiles(stopped, '/');
    expect(root.entries.find((entry) => entry.name === 'bye.txt')!.layer).toBe('upper');
    expect(Buffer.from(readContainerFile(stopped, '/bye.txt').data, 'base64').toString()).toBe('bye\n');
    await runtime().remove(record.id, true);
  });

  test('Remove Image refuses while a container stands on the image (one line), and removes an unused one', async () => {
    const names = () => runtime().images.list().map((image) => image.name);
    const familiar = runtime().images.inspect(APP).familiarName;
    await expect(runtime().images.remove(APP, true)).rejects.toThrow(`image ${familiar} is used by container cf-files: remove it first`);
    expect(names()).toContain(APP);
    // "other" shares only the base layer with app: cf-files does not use it.
    const other = names().find((name) => name.endsWith(':other'))!;
    expect(runtime().images.inspect(other).containers).toEqual([]);
    expect(runtime().images.inspect(APP).containers).toEqual(['cf-files']);
    expect(await runtime().images.remove(other, true)).toEqual({ removed: [other] });
    expect(names()).not.toContain(other);
  });

  test('a busybox container: one lower layer, no image digest', () => {
    return fixture.run({ name: 'cf-busybox' }).then(async (record) => {
      const layers = containerLayers(runtime().layerStack(record.id));
      expect(layers.layers.map((layer) => layer.kind)).toEqual(['upper', 'lower']);
      expect(layers.layers[1]!.imageLayer).toMatchObject({ number: 1, digest: null });
      expect(listContainerFiles(runtime().layerStack(record.id), '/bin').entries.some((entry) => entry.name === 'busybox')).toBe(true);
      await runtime().remove(record.id, true);
    });
  });
});

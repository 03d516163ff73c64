/*
 * Running pulled images, end to end on the real kernel: images this file builds around the host's
 * static busybox (./helpers/runnable-images.ts) are pushed with skopeo to Debian's docker-registry
 * on 127.0.0.1, pulled by the runtime, and run. The witnesses are the kernel's own files:
 *   - /proc/<pid>/mountinfo: the overlay's lowerdir is every layer directory, top first, and two
 *     containers of one image stand on the same lower dirs with uppers of their own;
 *   - /proc/<pid>/status: the uid, gid and groups the image's User resolved to by name;
 *   - the container's own output: Docker's Entrypoint/Cmd override table, Env, WorkingDir;
 *   - the layer directories on disk: rmi of an image in use keeps its layers, prune deletes only
 *     what nothing uses, and nothing is left behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord, RunOptions } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { RuntimeImages } from '../agent/runtime/images';
import { openRuntime } from '../agent/runtime/runtime';
import { execCollect } from './helpers/exec';
import { leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { REGISTRY, REGISTRY_FIX, startRegistry } from './helpers/registry';
import type { TestRegistry } from './helpers/registry';
import { APP_CREATED_BY, APP_USER, buildRunnableImages, pushImage, TALL_LAYERS } from './helpers/runnable-images';
import type { RunnableImages } from './helpers/runnable-images';
import { onPath } from './helpers/tools';
import { waitFor } from './helpers/wait';

const tools = onPath('skopeo') && existsSync(REGISTRY);
if (!tools && process.env.CI === 'true') throw new Error(`docker-registry or skopeo missing: ${REGISTRY_FIX}`);

let scratch: string;
let stateRoot: string;
let registry: TestRegistry;
let runtime: ContainerRuntime;
let images: RunnableImages;
const made: ContainerRecord[] = [];
let APP = '';
let OTHER = '';
let TALL = '';

const layerDir = (diffId: string): string => join(stateRoot, 'images', 'layers', diffId.slice('sha256:'.length));

beforeAll(async () => {
  if (!tools) return;
  scratch = mkdtempSync('/tmp/cl-image-run-src-');
  images = buildRunnableImages(scratch);
  registry = await startRegistry(scratch, join(scratch, 'storage'));
  APP = `${registry.host}/lab/app:1`;
  OTHER = `${registry.host}/lab/other:1`;
  TALL = `${registry.host}/lab/tall:1`;
  for (const [tag, destination] of [['app', APP], ['other', OTHER], ['tall', TALL]] as const) await pushImage(images.layout.dir, tag, destination);
  stateRoot = mkdtempSync('/tmp/cl-image-run-');
  runtime = openRuntime({ stateRoot });
  for (const reference of [APP, OTHER, TALL]) await runtime.images.pull({ reference });
}, 180_000);

afterAll(async () => {
  if (!tools) return;
  // Whatever failed before, the registry (our PID) stops and the containers go.
  await registry?.stop();
  if (runtime) {
    for (const record of runtime.list()) await runtime.remove(record.id, true);
    expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
    runtime.close();
    rmSync(stateRoot, { recursive: true, force: true });
  }
  rmSync(scratch, { recursive: true, force: true });
}, 60_000);

async function run(options: RunOptions): Promise<ContainerRecord> {
  const record = await runtime.run({ net: 'none', ...options });
  made.push(record);
  return record;
}

/** Runs to its end; the container's output (its log). */
async function output(options: RunOptions): Promise<string> {
  const record = await run(options);
  await waitFor(() => runtime.inspect(record.id).status, (status) => status === 'stopped');
  const log = runtime.logs(record.id).toString();
  await runtime.remove(record.id);
  return log;
}

/** The root overlay's options as the kernel shows them to the container's first process. */
function rootOverlay(pid: number): { lower: string[]; upper: string } {
  const line = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((entry) => entry.split(' ')[4] === '/' && entry.includes(' - overlay '));
  if (!line) throw new Error(`no overlay at / in /proc/${pid}/mountinfo`);
  const options = line.split(' - overlay ')[1]!.split(' ')[1]!;
  return { lower: /(?:^|,)lowerdir=([^,]+)/.exec(options)![1]!.split(':'), upper: /(?:^|,)upperdir=([^,]+)/.exec(options)![1]! };
}

function statusField(pid: number, field: string): string {
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.trim();
}

const sleeping = (extra: RunOptions = {}): RunOptions => ({ image: APP, entrypoint: ['/bin/sleep'], args: ['60'], ...extra });

describe.skipIf(!tools)('run IMAGE: one overlay lower dir per image layer', () => {
  test('lowerdir lists every layer, top first; two containers share the lower dirs and have uppers of their own', async () => {
    const first = await run(sleeping({ name: 'img-a' }));
    const second = await run(sleeping({ name: 'img-b' }));
    const expected = [...images.app.layers].reverse().map((layer) => layerDir(layer.diffId));
    const a = rootOverlay(first.pid!);
    const b = rootOverlay(second.pid!);
    expect(a.lower).toEqual(expected);
    expect(b.lower).toEqual(a.lower);
    expect(a.upper).toBe(first.rootfs!.upper);
    expect(b.upper).toBe(second.rootfs!.upper);
    expect(a.upper).not.toBe(b.upper);
    expect(first.rootfs!.lower).toEqual(expected);
    // The record names its image; ps shows the name.
    expect(first.imageRef).toEqual({ name: `${registry.host}/lab/app:1`, digest: images.app.manifest.digest, id: images.app.config.digest });
    expect(runtime.list().find((summary) => summary.id === first.id)!.image).toBe(`${registry.host}/lab/app:1`);
    expect(runtime.images.inspect(APP).containers).toEqual(['img-a', 'img-b']);
    for (const record of [first, second]) await runtime.remove(record.id, true);
  });

  test('the image config becomes config.json: User by name through the image\'s passwd and group, Env, WorkingDir, Labels, ExposedPorts', async () => {
    const record = await run(sleeping({ name: 'img-user' }));
    // The kernel's word on who the process is.
    expect(statusField(record.pid!, 'Uid').split(/\s+/)).toEqual(Array(4).fill(String(APP_USER.uid)));
    expect(statusField(record.pid!, 'Gid').split(/\s+/)).toEqual(Array(4).fill(String(APP_USER.gid)));
    expect(statusField(record.pid!, 'Groups').split(/\s+/).map(Number)).toEqual(APP_USER.groups);
    const processSpec = record.config.process!;
    expect(processSpec.cwd).toBe('/opt/app');
    expect(processSpec.env).toEqual(['PATH=/bin', 'MODE=lab', 'HOME=/home/app']);
    expect(record.config.annotations).toMatchObject({ 'org.example.team': 'lab', 'lab.containers.image-id': images.app.config.digest });
    // A label may not speak for the agent: the image's lab.containers.privileged is dropped.
    expect(record.config.annotations!['lab.containers.privileged']).toBeUndefined();
    expect(record.exposedPorts).toEqual(['80/tcp', '53/udp']);
    expect(record.config.hostname).toBe('img-user');
    await runtime.remove(record.id, true);
  });

  test('Entrypoint and Cmd by Docker\'s rules; Env and --user override the image', async () => {
    expect(await output({ image: APP })).toBe('from-entrypoint default-arg\n');
    expect(await output({ image: APP, args: ['x', 'y'] })).toBe('from-entrypoint x y\n');
    // A new entrypoint drops the image's Cmd.
    expect(await output({ image: APP, entrypoint: ['/bin/echo'] })).toBe('\n');
    expect(await output({ image: APP, entrypoint: [], args: ['/bin/echo', 'bare'] })).toBe('bare\n');
    const script = 'echo "$MODE $HOME"; pwd; id -u; id -g';
    expect(await output({ image: APP, entrypoint: ['/bin/sh'], args: ['-c', script], env: ['MODE=override'] })).toBe('override /home/app\n/opt/app\n1234\n2345\n');
    expect(await output({ image: APP, entrypoint: ['/bin/sh'], args: ['-c', 'id -u; id -g; echo $HOME'], user: 'root' })).toBe('0\n0\n/root\n');
    expect(await output({ image: APP, entrypoint: ['/bin/sh'], args: ['-c', 'id -u; id -g'], user: 'app:extra' })).toBe('1234\n3456\n');
    await expect(run({ image: APP, entrypoint: [] })).rejects.toThrow(`${registry.host}/lab/app:1 has no Entrypoint or Cmd to run: give a command (containers-lab run ${registry.host}/lab/app:1 -- CMD…)`);
    await expect(run({ image: APP, user: 'nobody' })).rejects.toThrow(/^user "nobody" is not a user of .*lab\/app:1 \(no matching entry in its \/etc\/passwd\)/);
    await expect(run({ image: `${registry.host}/lab/missing:1` })).rejects.toThrow(/^no image .*lab\/missing:1 here: pull it first/);
    expect(runtime.list()).toEqual([]);
  });

  test('no mount namespace with an image is refused in one line, before anything exists', async () => {
    await expect(run({ image: APP, namespaces: ['pid', 'net'] })).rejects.toThrow(/lab\/app:1 is a root filesystem: its container needs a mount namespace of its own \(add mnt to --ns\)$/);
    expect(runtime.list()).toEqual([]);
    expect(readdirSync(join(stateRoot, 'containers'))).toEqual([]);
  });

  test('which layer a path comes from, over every layer: digest and created-by, whiteouts, opaque directories, copy-up', async () => {
    // As root (the image's user may not write the image's files), so that the container can change them below.
    const record = await run(sleeping({ name: 'img-layers', user: 'root' }));
    const [base, changes, tool] = images.app.layers as [typeof images.app.layers[0], typeof images.app.layers[0], typeof images.app.layers[0]];
    const layer = (number: number, of: typeof base) => ({ number, lowerIndex: 3 - number, diffId: of.diffId, digest: of.digest, createdBy: APP_CREATED_BY[number - 1], directory: layerDir(of.diffId) });
    expect(runtime.pathLayer(record.id, '/bin/busybox')).toMatchObject({ layer: 'lower', lowerIndex: 2, imageLayer: layer(1, base), type: 'file' });
    expect(runtime.pathLayer(record.id, '/usr/local/bin/tool')).toMatchObject({ layer: 'lower', imageLayer: layer(3, tool) });
    expect(runtime.pathLayer(record.id, '/etc/motd')).toMatchObject({ layer: 'deleted', inLower: true, deletedBy: { kind: 'whiteout', path: '/etc/motd', layer: layer(2, changes) } });
    expect(runtime.pathLayer(record.id, '/opt/app/old.txt')).toMatchObject({ layer: 'deleted', deletedBy: { kind: 'opaque-directory', path: '/opt/app', layer: layer(2, changes) } });
    expect(runtime.pathLayer(record.id, '/opt/app')).toMatchObject({ layer: 'lower', imageLayer: layer(2, changes), mergedFrom: [layer(2, changes)] });
    // The kernel agrees: the deleted files are gone, the opaque directory shows its own layer's files only.
    expect((await execCollect(runtime, record.id, ['sh', '-c', 'ls /opt/app; cat /etc/motd'])).stdout).toBe('new.txt\n');
    // The container's own changes: a copy-up from layer 2, a whiteout over layer 3.
    expect((await execCollect(runtime, record.id, ['sh', '-c', 'echo more >> /opt/app/new.txt && rm /usr/local/bin/tool'])).code).toBe(0);
    expect(runtime.pathLayer(record.id, '/opt/app/new.txt')).toMatchObject({ layer: 'upper', copiedUp: true, inLower: true, lowerPath: join(layerDir(changes.diffId), 'opt/app/new.txt') });
    expect(runtime.pathLayer(record.id, '/usr/local/bin/tool')).toMatchObject({ layer: 'deleted', deletedBy: { kind: 'whiteout', layer: 'upper' }, hiddenCopies: [{ layer: layer(3, tool), hiddenBy: 'whiteout', byLayer: 'upper' }] });
    expect(runtime.pathLayer(record.id, '/opt/app')).toMatchObject({ layer: 'upper', mergedFrom: ['upper', layer(2, changes)] });
    await runtime.remove(record.id, true);
  });

  test(`an image of ${TALL_LAYERS} layers: more lower dirs than fit in one page of mount options, still one overlay`, async () => {
    const record = await run({ image: TALL, entrypoint: ['/bin/sleep'], args: ['60'] });
    const absolute = [...images.tall.layers].reverse().map((layer) => layerDir(layer.diffId));
    expect(`lowerdir=${absolute.join(':')}`.length).toBeGreaterThan(4096);
    // Mounted with the names relative to the layers directory: the same directories, in order.
    expect(rootOverlay(record.pid!).lower).toEqual(absolute.map((path) => path.slice(path.lastIndexOf('/') + 1)));
    expect(record.rootfs!.lower).toEqual(absolute);
    expect((await execCollect(runtime, record.id, ['sh', '-c', 'ls /layers | wc -l'])).stdout.trim()).toBe(String(TALL_LAYERS - 1));
    await runtime.remove(record.id, true);
  });

  test('rmi of an image in use keeps its layers until its container goes; prune deletes only what nothing uses', async () => {
    // Only this test's container may stand on the app's layers (an earlier failure may have left one).
    for (const left of runtime.list()) await runtime.remove(left.id, true);
    const record = await run(sleeping({ name: 'img-rmi' }));
    const appDirs = images.app.layers.map((layer) => layerDir(layer.diffId));
    expect(await runtime.images.remove(APP)).toEqual({ removed: [`${registry.host}/lab/app:1`] });
    expect(runtime.images.list().map((image) => image.name)).not.toContain(`${registry.host}/lab/app:1`);
    const first = await runtime.images.prune();
    expect(first.blobs).toContain(images.app.config.digest);
    for (const dir of appDirs) expect(existsSync(dir)).toBe(true);
    expect(first.layers.filter((dir) => appDirs.includes(dir))).toEqual([]);
    // The container runs on, and still says which build step made each of its files.
    expect((await execCollect(runtime, record.id, ['cat', '/opt/app/new.txt'])).stdout).toBe('new\n');
    expect(runtime.pathLayer(record.id, '/usr/local/bin/tool')).toMatchObject({ layer: 'lower', imageLayer: { number: 3, createdBy: APP_CREATED_BY[2] } });

    const changed: { names: string[]; removed: boolean }[] = [];
    runtime.events.on('image.changed', (event) => changed.push(event));
    await runtime.remove(record.id, true);
    const second = await runtime.images.prune();
    const [base, changes, tool] = appDirs as [string, string, string];
    expect(second.layers.sort()).toEqual([changes, tool].sort());
    // The base layer is the other image's too.
    expect(existsSync(base)).toBe(true);
    for (const layer of images.other.layers) expect(existsSync(layerDir(layer.diffId))).toBe(true);
    expect(await output({ image: OTHER, args: ['/bin/cat', '/srv/other.txt'] })).toBe('other\n');
    // Every client hears of names coming and going (the service broadcasts image.changed).
    await runtime.images.pull({ reference: APP });
    await runtime.images.remove(APP);
    expect(changed).toEqual([{ names: [APP], removed: false }, { names: [APP], removed: true }]);
  });

  test('a created container of an image that a later agent starts stands on the same layers again', async () => {
    const root = mkdtempSync('/tmp/cl-image-remake-');
    const first = openRuntime({ stateRoot: root });
    let record: ContainerRecord | null = null;
    try {
      await first.images.pull({ reference: APP });
      record = await first.run({ net: 'none', image: APP, name: 'img-made', entrypoint: ['/bin/sleep'], args: ['60'], createOnly: true });
      expect(record.status).toBe('created');
      first.close();
      const later = openRuntime({ stateRoot: root });
      try {
        const started = await later.start('img-made');
        expect(started.status).toBe('running');
        expect(rootOverlay(started.pid!).lower).toEqual(record.rootfs!.lower);
        expect(record.rootfs!.lower).toEqual([...images.app.layers].reverse().map((layer) => join(root, 'images', 'layers', layer.diffId.slice(7))));
        expect(statusField(started.pid!, 'Uid').split(/\s+/)[0]).toBe(String(APP_USER.uid));
        await later.remove(started.id, true);
        expect(leftovers(root, [record, started])).toEqual(NONE_LEFT);
      } finally {
        later.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('at start, the agent removes what an unpack killed mid-way left (a .partial- directory of a dead process)', () => {
    const layers = join(stateRoot, 'images', 'layers');
    const abandoned = join(layers, `${'ab'.repeat(32)}.partial-2147483646-deadbeef`);
    mkdirSync(join(abandoned, 'etc'), { recursive: true });
    new RuntimeImages(stateRoot, () => [], () => {});
    expect(existsSync(abandoned)).toBe(false);
    expect(readdirSync(layers).filter((name) => name.includes('.partial-'))).toEqual([]);
  });
});

/*
 * Importing images from files: a `docker save` archive (written by Debian's skopeo, as
 * docker-archive:), the same gzip'd, an OCI image layout as a directory, as a tar made by GNU
 * tar, and as skopeo's oci-archive:. The images are built here (./helpers/oci-layout.ts), so the
 * test knows every digest. Then rmi and prune over what was imported, and the bad inputs — a
 * blob whose bytes do not match its name, a missing blob, a truncated archive, a file that is no
 * archive, an image without a name — each one line, with no name and no blob left behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { LabError } from '../agent/errors';
import { importImages } from '../agent/image/import';
import { hostPlatform } from '../agent/image/platform';
import { ImageStore } from '../agent/image/store';
import { OciLayout, makeTree } from './helpers/oci-layout';
import { onPath } from './helpers/tools';

const scratch = mkdtempSync(join(tmpdir(), 'cl-image-import-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const haveSkopeo = onPath('skopeo');
if (!haveSkopeo && process.env.CI === 'true') throw new Error('skopeo is missing: apt-get install skopeo (scripts/setup-host.sh does)');

const host = hostPlatform().architecture;
const other = host === 'arm64' ? 'amd64' : 'arm64';
const layout = new OciLayout(join(scratch, 'layout'));
makeTree(join(scratch, 'tree/base'), { 'etc/hostname': 'imported\n', 'bin/sh': { symlink: 'busybox' }, 'bin/busybox': 'not really\n' });
makeTree(join(scratch, 'tree/top'), { 'etc/.wh.hostname': '', 'srv/app.txt': 'app\n' });
makeTree(join(scratch, 'tree/foreign'), { 'etc/arch': `${other}\n` });
const base = layout.addLayer(join(scratch, 'tree/base'));
const top = layout.addLayer(join(scratch, 'tree/top'));
const image = layout.addImage({ layers: [base, top], architecture: host, createdBy: ['ADD rootfs /', 'COPY app.txt /srv/'] });
const foreign = layout.addImage({ layers: [base, layout.addLayer(join(scratch, 'tree/foreign'))], architecture: other });
layout.tag(image.manifest, 'v1');
layout.tag(layout.addIndex([image, foreign]), 'multi');

let stores = 0;
const newStore = () => new ImageStore(join(scratch, `state-${++stores}`));
const blobs = (store: ImageStore) => store.content.list().map((blob) => blob.digest).sort();

async function failure(promise: Promise<unknown>): Promise<LabError> {
  const error = await promise.then(() => null, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(LabError);
  expect((error as Error).message).not.toContain('\n');
  return error as LabError;
}

function expectNothingImported(store: ImageStore): void {
  expect(store.records()).toEqual([]);
  expect(blobs(store)).toEqual([]);
  const ingest = store.content.ingestDirectory;
  expect(existsSync(ingest) ? readdirSync(ingest) : []).toEqual([]);
}

/** A copy of the layout made by `change`, for the bad-input cases. */
function damagedLayout(name: string, change: (dir: string) => void): string {
  const dir = join(scratch, name);
  cpSync(layout.dir, dir, { recursive: true });
  change(dir);
  return dir;
}

describe('docker save archives', () => {
  test.skipIf(!haveSkopeo)('an archive skopeo wrote as docker-archive: imports under its RepoTags, layers uncompressed, image ID = config digest', async () => {
    const archive = join(scratch, 'saved.tar');
    execFileSync('skopeo', ['copy', '--quiet', `oci:${layout.dir}:v1`, `docker-archive:${archive}:lab/saved:1`]);
    const store = newStore();
    const [record] = await importImages(store, archive);
    expect(record!.name).toBe('docker.io/lab/saved:1');
    expect(record!.source).toBe('import');
    expect(record!.config).toBe(image.config.digest);
    const details = store.inspect('lab/saved:1');
    // docker save keeps layers as plain tars: each blob's digest is its diff ID
    expect(details.layers.map((layer) => [layer.digest, layer.diffId, layer.mediaType])).toEqual([
      [base.diffId, base.diffId, 'application/vnd.oci.image.layer.v1.tar'],
      [top.diffId, top.diffId, 'application/vnd.oci.image.layer.v1.tar'],
    ]);
    expect(details.layers.map((layer) => layer.createdBy)).toEqual(['ADD rootfs /', 'COPY app.txt /srv/']);
    expect(details.layers.every((layer) => layer.unpacked)).toBe(true);
    // the config, the two layers and the manifest made for them; VERSION, json, repositories dropped
    expect(blobs(store)).toEqual([image.config.digest, base.diffId, top.diffId, record!.manifest.digest].sort());

    // gzip'd, as `docker save | gzip` makes it: the same image
    execFileSync('gzip', ['-k', archive]);
    const [again] = await importImages(newStore(), `${archive}.gz`, { unpack: false });
    expect(again!.manifest.digest).toBe(record!.manifest.digest);
  });
});

describe('OCI image layouts', () => {
  test('a directory: the tag from index.json under the given repository; an index resolved for this platform', async () => {
    const store = newStore();
    const records = await importImages(store, layout.dir, { name: 'lab/oci' });
    expect(records.map((record) => record.name)).toEqual(['docker.io/lab/oci:v1', 'docker.io/lab/oci:multi']);
    const [single, multi] = records;
    expect(single!.manifest.digest).toBe(image.manifest.digest);
    expect(multi!.manifest.digest).toBe(image.manifest.digest);
    expect(multi!.target.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    // only what this platform's image uses was read from the directory: not the foreign layer
    expect(blobs(store)).toEqual([multi!.target.digest, image.manifest.digest, image.config.digest, base.digest, top.digest].sort());
    expect(store.lowerDirectories('lab/oci:v1')).toEqual([top, base].map((layer) => join(store.layersDirectory, layer.diffId.slice(7))));
  });

  test('the same layout as a tar (GNU tar) and as skopeo oci-archive:, with unused blobs not kept', async () => {
    const tarFile = join(scratch, 'layout.tar');
    execFileSync('tar', ['--create', '--file', tarFile, '--directory', layout.dir, '.']);
    const store = newStore();
    const records = await importImages(store, tarFile, { name: 'lab/tarred', unpack: false });
    expect(records.map((record) => record.manifest.digest)).toEqual([image.manifest.digest, image.manifest.digest]);
    // the foreign platform's manifest, config and layer passed through the stream and were dropped
    expect(blobs(store)).toEqual([records[1]!.target.digest, image.manifest.digest, image.config.digest, base.digest, top.digest].sort());
    if (haveSkopeo) {
      const ociArchive = join(scratch, 'oci-archive.tar');
      execFileSync('skopeo', ['copy', '--quiet', `oci:${layout.dir}:v1`, `oci-archive:${ociArchive}:v1`]);
      const [fromSkopeo] = await importImages(store, ociArchive, { name: 'lab/skopeo', unpack: false });
      expect(fromSkopeo!.name).toBe('docker.io/lab/skopeo:v1');
      expect(fromSkopeo!.config).toBe(image.config.digest);
    }
  });

  test('a full name in index.json (containerd\'s annotation) needs no name from the caller', async () => {
    const dir = damagedLayout('named-layout', (copy) => {
      const index = JSON.parse(readFileSync(join(copy, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
      index.manifests = index.manifests.slice(0, 1);
      index.manifests[0]!.annotations['io.containerd.image.name'] = 'registry.example:5000/team/app:2.0';
      writeFileSync(join(copy, 'index.json'), JSON.stringify(index));
    });
    const store = newStore();
    const [record] = await importImages(store, dir, { unpack: false });
    expect(record!.name).toBe('registry.example:5000/team/app:2.0');
  });

  test('rmi drops a name and keeps blobs; prune then removes what no image and no container uses', async () => {
    const store = newStore();
    await importImages(store, layout.dir, { name: 'lab/keep' });
    expect(await store.remove('lab/keep:multi')).toEqual(['docker.io/lab/keep:multi']);
    const indexDigest = blobs(store).find((digest) => ![image.manifest.digest, image.config.digest, base.digest, top.digest].includes(digest as never));
    expect(indexDigest).toBeDefined();
    expect((await store.prune()).blobs).toEqual([indexDigest]);
    const baseDirectory = join(store.layersDirectory, base.diffId.slice(7));
    expect(await store.remove(image.config.digest.slice(7, 19))).toEqual(['docker.io/lab/keep:v1']);
    // a container still stands on the base layer
    const result = await store.prune(() => [baseDirectory]);
    expect(result.blobs.sort()).toEqual([image.manifest.digest, image.config.digest, base.digest, top.digest].sort());
    expect(result.layers).toEqual([join(store.layersDirectory, top.diffId.slice(7))]);
    expect(existsSync(baseDirectory)).toBe(true);
    expect(store.list()).toEqual([]);
  });
});

describe('bad archives', () => {
  test('a blob whose bytes do not match its name: refused, nothing kept', async () => {
    const dir = damagedLayout('corrupt', (copy) => writeFileSync(join(copy, 'blobs/sha256', top.digest.slice(7)), 'tampered'));
    const store = newStore();
    const error = await failure(importImages(store, dir, { name: 'lab/bad' }));
    expect(error.message).toContain(`blob ${top.digest} of ${dir}`);
    expect(error.message).toMatch(/(does not match its digest|ended after \d+ of \d+ bytes)/);
    expectNothingImported(store);

    const tarFile = join(scratch, 'corrupt.tar');
    execFileSync('tar', ['--create', '--file', tarFile, '--directory', dir, '.']);
    const tarError = await failure(importImages(store, tarFile, { name: 'lab/bad' }));
    expect(tarError.message).toContain(`blobs/sha256/${top.digest.slice(7)}`);
    expectNothingImported(store);
  });

  test('a missing blob: refused, nothing kept', async () => {
    const dir = damagedLayout('missing', (copy) => rmSync(join(copy, 'blobs/sha256', base.digest.slice(7))));
    const store = newStore();
    expect((await failure(importImages(store, dir, { name: 'lab/bad' }))).message).toBe(`${dir}: blob ${base.digest} is missing`);
    expectNothingImported(store);
  });

  test('a truncated archive: refused, nothing kept', async () => {
    const tarFile = join(scratch, 'truncated.tar');
    execFileSync('tar', ['--create', '--file', tarFile, '--directory', layout.dir, '.']);
    truncateSync(tarFile, Math.floor(statSync(tarFile).size / 2));
    const store = newStore();
    const error = await failure(importImages(store, tarFile, { name: 'lab/bad' }));
    expect(error.message).toMatch(/^\S+truncated\.tar: blobs\/sha256\/[0-9a-f]{64}: transfer failed after \d+ bytes: .*it is truncated; nothing kept$/);
    expectNothingImported(store);
  });

  test('a file that is no archive, and an image without a name', async () => {
    const text = join(scratch, 'notes.txt');
    writeFileSync(text, 'hello, this is not a tar archive at all '.repeat(40));
    const store = newStore();
    expect((await failure(importImages(store, text))).message).toMatch(/^.*notes\.txt is (not a readable tar archive|neither a docker save archive nor an OCI layout)/);
    expect((await failure(importImages(store, layout.dir))).message).toBe(`${layout.dir} names its image only by the tag "v1": give a repository name to import it as`);
    expectNothingImported(store);
  });
});

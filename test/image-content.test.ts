/*
 * The image room's foundations, without a registry: references parsed as Docker parses them,
 * the content store (blobs by digest, verified while streaming, nothing partial ever left, a
 * present blob never fetched again, one fetch for concurrent ingests in one process and across
 * processes — including one killed mid-transfer, whose flock the kernel releases), flat memory
 * for a large blob (from a stream, and over HTTP through the registry client), strict manifest parsing and platform choice, and the image index's leases
 * and prune. Everything on the real filesystem; the digests are computed by node's crypto
 * independently of the store.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, test } from 'vitest';
import { LabError } from '../agent/errors';
import { ContentStore } from '../agent/image/content/store';
import type { Digest } from '../agent/image/digest';
import { parseManifestDocument } from '../agent/image/manifest';
import { selectPlatformManifest } from '../agent/image/platform';
import { familiarReference, formatReference, parseReference } from '../agent/image/reference';
import { RegistryClient } from '../agent/image/registry/client';
import { ImageStore } from '../agent/image/store';
import { waitFor } from './helpers/wait';

const scratch = mkdtempSync(join(tmpdir(), 'cl-image-content-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

let count = 0;
const freshStore = () => new ContentStore(join(scratch, `store-${++count}`, 'images'));
const sha256 = (bytes: Buffer): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Everything under the store's ingest directory: must be empty after any ingest, good or bad. */
const leftovers = (store: ContentStore) => (existsSync(store.ingestDirectory) ? readdirSync(store.ingestDirectory) : []);

async function oneLineError(promise: Promise<unknown>): Promise<LabError> {
  const error = await promise.then(() => null, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(LabError);
  expect((error as Error).message).not.toContain('\n');
  return error as LabError;
}

describe('image references', () => {
  test.each([
    ['alpine', 'docker.io/library/alpine:latest', 'alpine:latest'],
    ['library/nginx:1.27', 'docker.io/library/nginx:1.27', 'nginx:1.27'],
    ['docker.io/user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1', 'busybox:1'],
    [`user/app@sha256:${'a'.repeat(64)}`, `docker.io/user/app@sha256:${'a'.repeat(64)}`, `user/app@sha256:${'a'.repeat(64)}`],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['127.0.0.1:5000/team/app:1.0', '127.0.0.1:5000/team/app:1.0', '127.0.0.1:5000/team/app:1.0'],
    ['[::1]:5000/app:v2', '[::1]:5000/app:v2', '[::1]:5000/app:v2'],
    ['Registry/app', 'Registry/app:latest', 'Registry/app:latest'],
    ['ghcr.io/org/sub/image:tag_1.2-rc', 'ghcr.io/org/sub/image:tag_1.2-rc', 'ghcr.io/org/sub/image:tag_1.2-rc'],
  ])('%s is %s', (text, canonical, familiar) => {
    const reference = parseReference(text);
    expect(formatReference(reference)).toBe(canonical);
    expect(familiarReference(reference)).toBe(familiar);
  });

  test.each([
    ['', 'an image reference is needed'],
    ['Alpine', 'must be lowercase'],
    ['alp ine', 'whitespace'],
    ['alpine:', 'tag ""'],
    ['alpine:-x', 'tag'],
    ['host:99999/app', 'port'],
    ['bad_host.example:5000:/x', 'invalid image reference'],
    ['app@sha256:abc', 'not a digest'],
    [`app@md5:${'a'.repeat(32)}`, 'only sha256'],
    ['a//b', 'path component'],
    ['-app', 'path component'],
  ])('%j is refused in one line naming the problem', (text, words) => {
    let error: unknown;
    try {
      parseReference(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LabError);
    expect((error as Error).message).toContain(words);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('content store: ingest', () => {
  test('stores a streamed blob under blobs/sha256/<hex>, byte for byte, and reports progress', async () => {
    const store = freshStore();
    const bytes = randomBytes(300_000);
    const digest = sha256(bytes);
    const progress: number[] = [];
    const result = await store.ingest({ digest, size: bytes.length }, () => Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)]), 'a test blob', (done, total) => {
      expect(total).toBe(bytes.length);
      progress.push(done);
    });
    expect(result).toEqual({ digest, size: bytes.length, fetched: true });
    expect(store.blobPath(digest)).toBe(join(store.imagesRoot, 'blobs', 'sha256', digest.slice(7)));
    expect(readFileSync(store.blobPath(digest)).equals(bytes)).toBe(true);
    expect(progress.at(-1)).toBe(bytes.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(leftovers(store)).toEqual([]);
  });

  test('a present blob is not fetched again', async () => {
    const store = freshStore();
    const bytes = randomBytes(1000);
    const digest = sha256(bytes);
    await store.ingest({ digest, size: bytes.length }, () => [bytes], 'first');
    let opened = 0;
    const again = await store.ingest({ digest, size: bytes.length }, () => {
      opened += 1;
      return [bytes];
    }, 'second');
    expect(opened).toBe(0);
    expect(again.fetched).toBe(false);
  });

  test('wrong bytes are refused in one line, and nothing is kept', async () => {
    const store = freshStore();
    const promised = randomBytes(4096);
    const error = await oneLineError(store.ingest({ digest: sha256(promised), size: 4096 }, () => [randomBytes(4096)], 'layer 1 of lab/app'));
    expect(error.message).toMatch(/^layer 1 of lab\/app does not match its digest: expected [0-9a-f]{12}…, got [0-9a-f]{12}…/);
    expect(store.has(sha256(promised))).toBe(false);
    expect(readdirSync(store.blobsDirectory)).toEqual([]);
    expect(leftovers(store)).toEqual([]);
  });

  test('a source that ends early (a dropped connection) is refused, nothing kept', async () => {
    const store = freshStore();
    const bytes = randomBytes(10_000);
    const error = await oneLineError(store.ingest({ digest: sha256(bytes), size: bytes.length }, () => [bytes.subarray(0, 6000)], 'blob x'));
    expect(error.message).toBe('blob x ended after 6000 of 10000 bytes (the source closed early): nothing kept');
    expect(readdirSync(store.blobsDirectory)).toEqual([]);
    expect(leftovers(store)).toEqual([]);
  });

  test('a source that errors mid-stream is refused, nothing kept', async () => {
    const store = freshStore();
    const bytes = randomBytes(10_000);
    async function* failing() {
      yield bytes.subarray(0, 5000);
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }
    const error = await oneLineError(store.ingest({ digest: sha256(bytes), size: bytes.length }, failing, 'blob y'));
    expect(error.message).toBe('blob y: transfer failed after 5000 bytes: the connection was cut; nothing kept');
    expect(leftovers(store)).toEqual([]);
  });

  test('bytes beyond the promised size are refused as they arrive', async () => {
    const store = freshStore();
    const bytes = randomBytes(1000);
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled += 1;
        yield bytes;
      }
    }
    const error = await oneLineError(store.ingest({ digest: sha256(bytes), size: 1000 }, endless, 'blob z'));
    expect(error.message).toContain('is longer than the 1000 bytes its descriptor promises');
    expect(pulled).toBe(2);
    expect(leftovers(store)).toEqual([]);
  });

  test('concurrent ingests of one digest in one process fetch once and all hear the progress', async () => {
    const store = freshStore();
    const bytes = randomBytes(64 * 1024);
    const digest = sha256(bytes);
    let opened = 0;
    const open = () => {
      opened += 1;
      return (async function* slow() {
        for (let offset = 0; offset < bytes.length; offset += 8192) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          yield bytes.subarray(offset, offset + 8192);
        }
      })();
    };
    const heard = [0, 0, 0, 0, 0];
    const results = await Promise.all(heard.map((_, index) => store.ingest({ digest, size: bytes.length }, open, 'shared', (done) => (heard[index] = done))));
    expect(opened).toBe(1);
    expect(results.filter((result) => result.fetched)).toHaveLength(1);
    expect(heard).toEqual([bytes.length, bytes.length, bytes.length, bytes.length, bytes.length]);
    expect(readFileSync(store.blobPath(digest)).equals(bytes)).toBe(true);
  });

  test('memory stays flat while a 192 MiB layer streams from a registry over HTTP', async () => {
    const store = freshStore();
    const chunk = randomBytes(1024 * 1024);
    const chunks = 192;
    const hash = createHash('sha256');
    for (let index = 0; index < chunks; index += 1) hash.update(chunk);
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${hash.digest('hex')}` as Digest, size: chunk.length * chunks };
    const server = http.createServer((request, response) => {
      if (!request.url?.endsWith(`/blobs/${layer.digest}`)) return void response.writeHead(404).end();
      response.writeHead(200, { 'Content-Length': layer.size });
      Readable.from((function* repeat() {
        for (let index = 0; index < chunks; index += 1) yield chunk;
      })()).pipe(response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const reference = parseReference(`127.0.0.1:${(server.address() as AddressInfo).port}/big/app`);
    const client = new RegistryClient();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const result = await store.ingest(layer, async () => (await client.openBlob(reference, layer, 'the big layer')).stream, 'the big layer');
      expect(result).toEqual({ digest: layer.digest, size: layer.size, fetched: true });
    } finally {
      clearInterval(sampler);
      await new Promise((resolve) => server.close(resolve));
    }
    expect((peak - before) / 2 ** 20).toBeLessThan(50);
    store.delete(layer.digest);
  }, 120_000);

  test('memory stays flat while a 256 MiB blob streams in', async () => {
    const store = freshStore();
    const chunk = randomBytes(1024 * 1024);
    const chunks = 256;
    const hash = createHash('sha256');
    for (let index = 0; index < chunks; index += 1) hash.update(chunk);
    const digest: Digest = `sha256:${hash.digest('hex')}`;
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      await store.ingest({ digest, size: chunk.length * chunks }, () => Readable.from((function* repeat() {
        for (let index = 0; index < chunks; index += 1) yield chunk;
      })()), 'a large layer', () => (peak = Math.max(peak, process.memoryUsage().rss)));
    } finally {
      clearInterval(sampler);
    }
    expect(store.sizeOf(digest)).toBe(chunk.length * chunks);
    expect((peak - before) / 2 ** 20).toBeLessThan(48);
    store.delete(digest);
  }, 120_000);
});

describe('content store: across processes', () => {
  const bundle = join(scratch, 'content-store.js');
  buildSync({ entryPoints: [join(__dirname, '../agent/image/content/store.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, external: ['koffi'], logLevel: 'silent' });
  const env = { ...process.env, NODE_PATH: join(__dirname, '../node_modules') };

  /** A node process ingesting `digest` from a slow source that first appends its pid to `marker`. */
  function ingestInChild(root: string, digest: Digest, bytes: Buffer, marker: string, delayMs: number): ChildProcess & { result: Promise<string> } {
    const source = join(scratch, `source-${digest.slice(7, 19)}`);
    writeFileSync(source, bytes);
    const program = `
      const { ContentStore } = require(${JSON.stringify(bundle)});
      const fs = require('node:fs');
      const bytes = fs.readFileSync(${JSON.stringify(source)});
      const store = new ContentStore(${JSON.stringify(root)});
      store.ingest({ digest: ${JSON.stringify(digest)}, size: bytes.length }, async function* () {
        fs.appendFileSync(${JSON.stringify(marker)}, process.pid + '\\n');
        for (let offset = 0; offset < bytes.length; offset += 1024) {
          await new Promise((resolve) => setTimeout(resolve, ${delayMs}));
          yield bytes.subarray(offset, offset + 1024);
        }
      }, 'child blob').then((result) => console.log(JSON.stringify(result)), (error) => { console.error(error.message); process.exit(1); });`;
    const child = spawn(process.execPath, ['-e', program], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
    const result = new Promise<string>((resolve) => child.on('close', () => resolve(output.trim())));
    return Object.assign(child, { result });
  }

  test('four processes ingesting one digest fetch it once; the others find it present', async () => {
    const store = freshStore();
    const bytes = randomBytes(16 * 1024);
    const digest = sha256(bytes);
    const marker = join(scratch, 'opened-four');
    const outputs = await Promise.all(Array.from({ length: 4 }, () => ingestInChild(store.imagesRoot, digest, bytes, marker, 10).result));
    const results = outputs.map((output) => JSON.parse(output) as { fetched: boolean; digest: string });
    expect(results.map((result) => result.digest)).toEqual([digest, digest, digest, digest]);
    expect(results.filter((result) => result.fetched)).toHaveLength(1);
    expect(readFileSync(marker, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(store.blobPath(digest)).equals(bytes)).toBe(true);
    expect(leftovers(store)).toEqual([]);
  });

  test('a process killed mid-transfer leaves no blob, and the next ingest takes over its lock and its partial file', async () => {
    const store = freshStore();
    const bytes = randomBytes(64 * 1024);
    const digest = sha256(bytes);
    const marker = join(scratch, 'opened-killed');
    const child = ingestInChild(store.imagesRoot, digest, bytes, marker, 50);
    const partials = await waitFor(() => leftovers(store).filter((name) => name.endsWith('.partial')), (names) => names.length > 0);
    expect(partials).toHaveLength(1);
    expect(leftovers(store)).toContain(`${digest.slice(7)}.lock`);
    child.kill('SIGKILL');
    await child.result;
    expect(store.has(digest)).toBe(false);
    // the kernel dropped the dead process's flock: this ingest does not wait for it
    const started = Date.now();
    const result = await store.ingest({ digest, size: bytes.length }, () => [bytes], 'after the kill');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.fetched).toBe(true);
    expect(leftovers(store)).toEqual([]);
  });
});

describe('documents and platforms', () => {
  const manifest = (extra: object) => Buffer.from(JSON.stringify({ schemaVersion: 2, ...extra }));

  test.each([
    [{ mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', schemaVersion: 1 }, 'Docker schema 1'],
    [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'x', digest: 'sha256:zz', size: 1 }, layers: [] }, 'is not a digest'],
    [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'x', digest: `sha256:${'0'.repeat(64)}`, size: -1 }, layers: [] }, 'no valid size'],
    [{ mediaType: 'application/vnd.cncf.helm.config.v1+json' }, 'not an image index or manifest'],
  ])('a bad document is refused in one line (%#)', (document, words) => {
    expect(() => parseManifestDocument(manifest(document), null, 'the manifest of lab/x')).toThrow(words);
  });

  test("an index's entry for this platform is chosen; a missing one lists what is there", () => {
    const digest = (n: number) => `sha256:${String(n).repeat(64)}`;
    const index = parseManifestDocument(manifest({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(1), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(2), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(3), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
      ],
    }), null, 'lab/x');
    if (index.kind !== 'index') throw new Error('expected an index');
    expect(selectPlatformManifest(index, { os: 'linux', architecture: 'amd64' }, 'lab/x').digest).toBe(digest(1));
    expect(selectPlatformManifest(index, { os: 'linux', architecture: 'arm64' }, 'lab/x').digest).toBe(digest(2));
    expect(() => selectPlatformManifest(index, { os: 'linux', architecture: 's390x' }, 'lab/x'))
      .toThrow(/^lab\/x has no image for linux\/s390x: it has linux\/amd64, linux\/arm64\/v8$/);
  });
});

describe('image index: leases and prune', () => {
  test('prune keeps what a running pull leased and what containers use, and deletes the rest', async () => {
    const images = new ImageStore(join(scratch, 'prune-state'));
    const blobs = [randomBytes(100), randomBytes(200), randomBytes(300)];
    for (const bytes of blobs) await images.content.ingest({ digest: sha256(bytes), size: bytes.length }, () => [bytes], 'blob');
    const [leased, used, garbage] = blobs.map(sha256) as [Digest, Digest, Digest];
    const usedLayer = join(images.layersDirectory, used.slice(7));
    const garbageLayer = join(images.layersDirectory, garbage.slice(7));
    const unpackerWork = join(images.layersDirectory, `${garbage.slice(7)}.partial-1-abcd`);
    for (const directory of [usedLayer, garbageLayer, unpackerWork]) mkdirSync(directory, { recursive: true });
    writeFileSync(join(garbageLayer, 'file'), 'x');
    const lease = images.createLease();
    await lease.protect([leased]);

    const result = await images.prune(() => [usedLayer]);
    expect(result.blobs.sort()).toEqual([used, garbage].sort());
    expect(result.bytesFreed).toBe(500);
    expect(result.layers).toEqual([garbageLayer]);
    expect(images.content.has(leased)).toBe(true);
    expect(existsSync(usedLayer)).toBe(true);
    expect(existsSync(unpackerWork)).toBe(true); // the unpacker's own work in progress is not prune's
    expect(readdirSync(images.layersDirectory).filter((name) => name.startsWith('.removing-'))).toEqual([]);

    lease.end();
    expect((await images.prune()).blobs).toEqual([leased]);
  });
});

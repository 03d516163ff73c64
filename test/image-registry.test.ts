/*
 * Pulling from real registries: Debian's docker-registry (distribution 2.8) started here on
 * 127.0.0.1 — open, behind htpasswd (Basic), and behind a bearer-token server — serving images
 * this file builds from scratch (./helpers/oci-layout.ts: GNU tar + gzip, our own digests) and
 * pushes with Debian's skopeo, as OCI manifests and converted to Docker schema 2, with a
 * manifest list of amd64 and arm64. The registry's own access log is the witness for "fetched
 * once". A tiny HTTP server plays the broken registry (wrong bytes, a cut connection, a lying
 * Content-Length, a CDN redirect). Every failure must be one line and leave nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LabError } from '../agent/errors';
import { hostPlatform } from '../agent/image/platform';
import { pullImage } from '../agent/image/pull';
import type { PullEvent, PullOptions } from '../agent/image/pull';
import { parseChallenges } from '../agent/image/registry/auth';
import { endpointFor } from '../agent/image/registry/transport';
import { ImageStore } from '../agent/image/store';
import { OciLayout, makeTree, pushWithSkopeo, sha256 } from './helpers/oci-layout';
import type { Blob, Image } from './helpers/oci-layout';
import { REGISTRY, REGISTRY_FIX, startRegistry, startTokenServer, writeDockerConfig } from './helpers/registry';
import type { TestRegistry, TokenServer } from './helpers/registry';
import { onPath, skipBecause } from './helpers/tools';

const tools = [REGISTRY, 'skopeo', 'htpasswd', 'openssl'].every((tool) => onPath(tool) || existsSync(tool));
if (!tools && process.env.CI === 'true') throw new Error(`docker-registry, skopeo, htpasswd or openssl missing: ${REGISTRY_FIX}`);

const scratch = mkdtempSync(join(tmpdir(), 'cl-image-registry-'));
const storage = join(scratch, 'registry-storage');
const started: { stop(): Promise<void> }[] = [];
let open: TestRegistry;
let basic: TestRegistry;
let tokens: TokenServer;
let withTokens: TestRegistry;
const images: Record<string, Image> = {};
let multiIndex: Blob;
let otherImage: Image;

const host = hostPlatform().architecture;

beforeAll(async () => {
  if (!tools) return;
  const layout = new OciLayout(join(scratch, 'layout'));
  const tree = (name: string) => join(scratch, 'trees', name);
  makeTree(tree('base'), {
    'etc/hostname': 'lab\n', 'etc/motd': 'welcome\n', 'bin/busybox': { text: '#!/bin/false\n', mode: 0o755 },
    'bin/sh': { symlink: 'busybox' }, 'data/a': 'shared bytes\n', 'data/b': { hardlink: 'data/a' }, 'opt/app/old.txt': 'old\n',
  });
  makeTree(tree('changes'), { 'etc/.wh.motd': '', 'opt/app/.wh..wh..opq': '', 'opt/app/new.txt': 'new\n' });
  makeTree(tree('plain'), { 'usr/local/bin/tool': { text: 'tool\n', mode: 0o755 } });
  makeTree(tree('arm'), { 'etc/arch': 'arm64\n' });
  makeTree(tree('other'), { 'srv/other.txt': 'other\n' });
  makeTree(tree('big'), { 'var/big.bin': randomBytes(3 * 1024 * 1024).toString('base64') });
  const base = layout.addLayer(tree('base'));
  const changes = layout.addLayer(tree('changes'));
  const plain = layout.addLayer(tree('plain'), { compression: 'none' });
  const big = layout.addLayer(tree('big'));
  const runConfig = { Entrypoint: ['/bin/sh'], Cmd: ['-c', 'echo hi'], Env: ['PATH=/bin', 'MODE=lab'], WorkingDir: '/opt/app', User: 'nobody', Labels: { 'org.example': 'yes' } };
  images.amd64 = layout.addImage({ layers: [base, changes, plain, big], runConfig, createdBy: ['ADD base /', 'RUN rm /etc/motd && replace /opt/app', 'COPY tool /usr/local/bin/', 'ADD big.bin /var/'] });
  images.arm64 = layout.addImage({ layers: [base, layout.addLayer(tree('arm'))], architecture: 'arm64', variant: 'v8' });
  otherImage = layout.addImage({ layers: [base, layout.addLayer(tree('other'))], architecture: host });
  multiIndex = layout.addIndex([images.amd64, images.arm64]);
  layout.tag(multiIndex, 'multi');
  layout.tag(images[host]!.manifest, 'single');
  layout.tag(otherImage.manifest, 'other');
  const riscv = layout.addImage({ layers: [base], architecture: 'riscv64' });
  const s390x = layout.addImage({ layers: [base], architecture: 's390x' });
  const exotic = layout.addIndex([riscv, s390x]);
  layout.tag(exotic, 'exotic');

  open = await startRegistry(scratch, storage);
  started.push(open);
  pushWithSkopeo(layout.dir, 'multi', `${open.host}/lab/app:multi`);
  pushWithSkopeo(layout.dir, 'single', `${open.host}/lab/app:single`);
  pushWithSkopeo(layout.dir, 'other', `${open.host}/lab/app:other`);
  pushWithSkopeo(layout.dir, 'exotic', `${open.host}/lab/app:exotic`);
  pushWithSkopeo(layout.dir, 'multi', `${open.host}/lab/app:docker-multi`, { dockerFormat: true });
  pushWithSkopeo(layout.dir, 'single', `${open.host}/lab/private:1`);

  basic = await startRegistry(scratch, storage, { kind: 'htpasswd', users: { alice: 'wonderland' } });
  started.push(basic);
  tokens = await startTokenServer(scratch, { users: { bob: 'builder' }, anonymousPull: ['lab/app'] });
  started.push(tokens);
  withTokens = await startRegistry(scratch, storage, { kind: 'token', tokenServer: tokens });
  started.push(withTokens);
}, 180_000);

afterAll(async () => {
  for (const server of started.reverse()) await server.stop();
  rmSync(scratch, { recursive: true, force: true });
  // each registry this file started has exited (a registry left running keeps its port and storage)
  for (const registry of [open, basic, withTokens]) if (registry) expect(existsSync(`/proc/${registry.pid}`)).toBe(false);
});

const guarded = (name: string, body: () => Promise<void>, timeout = 60_000) =>
  test(name, async (context) => {
    if (!tools) skipBecause(context, `docker-registry, skopeo, htpasswd or openssl missing: ${REGISTRY_FIX}`);
    await body();
  }, timeout);

let stores = 0;
const newStore = () => new ImageStore(join(scratch, `state-${++stores}`));
const noUnpack: PullOptions = { unpack: false };

/** Nothing partial, no lease, no name: what a failed pull must leave. */
function expectNothingLeftBehind(store: ImageStore, goodBlobs: string[] = []): void {
  expect(store.records()).toEqual([]);
  const ingest = existsSync(store.content.ingestDirectory) ? readdirSync(store.content.ingestDirectory) : [];
  expect(ingest).toEqual([]);
  const leases = join(store.imagesRoot, 'leases');
  expect(existsSync(leases) ? readdirSync(leases) : []).toEqual([]);
  for (const blob of store.content.list()) expect(goodBlobs).toContain(blob.digest);
}

async function failure(promise: Promise<unknown>): Promise<LabError> {
  const error = await promise.then(() => null, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(LabError);
  expect((error as Error).message).not.toContain('\n');
  return error as LabError;
}

describe('pulling from the open registry', () => {
  guarded('an OCI index resolves to this platform; every blob lands byte for byte under its digest; progress per layer', async () => {
    const store = newStore();
    const expected = images[host]!;
    const before = expected.layers.map((layer) => open.blobGets(layer.digest));
    const events: PullEvent[] = [];
    const result = await pullImage(store, `${open.host}/lab/app:multi`, { ...noUnpack, onEvent: (event) => events.push(event) });
    expect(result.record.target.digest).toBe(multiIndex.digest);
    expect(result.record.manifest.digest).toBe(expected.manifest.digest);
    expect(result.record.config).toBe(expected.config.digest);
    expect(result.record.platform.startsWith(`linux/${host}`)).toBe(true);
    for (const blob of [expected.config, ...expected.layers]) {
      expect(readFileSync(store.content.blobPath(blob.digest as never)).equals(readFileSync(join(scratch, 'layout/blobs/sha256', blob.digest.slice(7))))).toBe(true);
    }
    // the registry served each layer exactly once
    expect(expected.layers.map((layer) => open.blobGets(layer.digest))).toEqual(before.map((count) => count + 1));
    expect(result.layers.map((layer) => layer.fetched)).toEqual(expected.layers.map(() => true));
    expect(result.layers.map((layer) => layer.diffId)).toEqual(expected.layers.map((layer) => layer.diffId));
    for (const [index, layer] of expected.layers.entries()) {
      const progress = events.filter((event): event is Extract<PullEvent, { type: 'layer' }> => event.type === 'layer' && event.index === index);
      expect(progress[0]).toMatchObject({ state: 'waiting', bytes: 0, total: layer.size });
      expect(progress.at(-1)).toMatchObject({ state: 'downloaded', bytes: layer.size, total: layer.size });
      const bytes = progress.map((event) => event.bytes);
      expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    }
    expect(events.at(-1)).toMatchObject({ type: 'done', digest: multiIndex.digest, id: expected.config.digest });

    // inspect: the config, the layers with created-by from the history
    const details = store.inspect(`${open.host}/lab/app:multi`);
    expect(details.layers.map((layer) => layer.digest)).toEqual(expected.layers.map((layer) => layer.digest));
    if (host === 'amd64') {
      expect(details.layers.map((layer) => layer.createdBy)).toEqual(['ADD base /', 'RUN rm /etc/motd && replace /opt/app', 'COPY tool /usr/local/bin/', 'ADD big.bin /var/']);
      expect(details.config.config).toMatchObject({ Entrypoint: ['/bin/sh'], Cmd: ['-c', 'echo hi'], WorkingDir: '/opt/app', User: 'nobody' });
    }
    expect(store.list().map((image) => image.familiarName)).toEqual([`${open.host}/lab/app:multi`]);

    // pulled again: nothing is fetched
    const again = await pullImage(store, `${open.host}/lab/app:multi`, noUnpack);
    expect(again.layers.every((layer) => !layer.fetched)).toBe(true);
    expect(expected.layers.map((layer) => open.blobGets(layer.digest))).toEqual(before.map((count) => count + 1));
  });

  guarded('two pulls at once of images sharing a base layer fetch it once', async () => {
    const store = newStore();
    const base = images[host]!.layers[0]!;
    const before = open.blobGets(base.digest);
    await Promise.all([pullImage(store, `${open.host}/lab/app:single`, noUnpack), pullImage(store, `${open.host}/lab/app:other`, noUnpack)]);
    expect(open.blobGets(base.digest)).toBe(before + 1);
    expect(store.records().map((record) => record.name)).toEqual([`${open.host}/lab/app:other`, `${open.host}/lab/app:single`]);
  });

  guarded('a Docker manifest list (converted by skopeo) resolves to the Docker schema 2 manifest for this platform', async () => {
    const store = newStore();
    const result = await pullImage(store, `${open.host}/lab/app:docker-multi`, noUnpack);
    expect(result.record.target.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(result.record.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(store.manifestOf(result.record).layers.map((layer) => layer.mediaType)).toContain('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect(result.layers.map((layer) => layer.digest)).toEqual(images[host]!.layers.map((layer) => layer.digest));
    expect(result.record.config).toBe(images[host]!.config.digest);
  });

  guarded('by digest, and for another platform only on request', async () => {
    const store = newStore();
    const other = host === 'arm64' ? images.amd64! : images.arm64!;
    const refused = await failure(pullImage(store, `${open.host}/lab/app@${other.manifest.digest}`, noUnpack));
    expect(refused.message).toBe(`${open.host}/lab/app@${other.manifest.digest} is built for ${host === 'arm64' ? 'amd64' : 'arm64'}, this host is ${host}: it would not run here`);
    const byDigest = await pullImage(store, `${open.host}/lab/app@${images.arm64!.manifest.digest}`, { ...noUnpack, platform: { os: 'linux', architecture: 'arm64' } });
    expect(byDigest.record.name).toBe(`${open.host}/lab/app@${images.arm64!.manifest.digest}`);
    expect(byDigest.record.config).toBe(images.arm64!.config.digest);
    const arm = await pullImage(store, `${open.host}/lab/app:multi`, { ...noUnpack, platform: { os: 'linux', architecture: 'arm64' } });
    expect(arm.record.manifest.digest).toBe(images.arm64!.manifest.digest);
    expect(arm.record.platform).toBe('linux/arm64/v8');
  });

  guarded('a missing architecture is one line listing what the index has, and nothing is left', async () => {
    const store = newStore();
    const error = await failure(pullImage(store, `${open.host}/lab/app:exotic`, noUnpack));
    expect(error.message).toBe(`${open.host}/lab/app:exotic has no image for ${hostPlatform().os}/${host}${host === 'arm64' ? '/v8' : ''}: it has linux/riscv64, linux/s390x`);
    expectNothingLeftBehind(store);
  });

  guarded('an unknown tag and an unknown repository are one line each', async () => {
    const store = newStore();
    expect((await failure(pullImage(store, `${open.host}/lab/app:nope`, noUnpack))).message).toBe(`${open.host}/lab/app:nope: manifest unknown — no such tag or digest in the repository`);
    const error = await failure(pullImage(store, `${open.host}/lab/nothing-here:1`, noUnpack));
    expect(error.kind).toBe('not-found');
    expect(error.message).toMatch(new RegExp(`^${open.host}/lab/nothing-here:1: .*(no such repository|no such tag)`));
    expectNothingLeftBehind(store);
  });

  guarded('the layers are unpacked and stack as the overlay the kernel mounts: whiteout, opaque dir, hard link, symlink', async () => {
    const store = newStore();
    await pullImage(store, `${open.host}/lab/app:single`);
    const lower = store.lowerDirectories(`${open.host}/lab/app:single`);
    expect(lower).toEqual([...images[host]!.layers].reverse().map((layer) => join(store.layersDirectory, layer.diffId.slice(7))));
    const merged = join(scratch, 'merged');
    mkdirSync(merged, { recursive: true });
    // a private mount namespace: the mount ends with the shell
    const view = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', [
      `mount -t overlay overlay -o lowerdir=${lower.join(':')} ${merged}`,
      `cd ${merged}`,
      'ls -A etc opt/app | tr "\\n" " "; echo',
      'readlink bin/sh',
      '[ data/a -ef data/b ] && echo hardlinked',
      'cat usr/local/bin/tool',
    ].join(' && ')], { encoding: 'utf8' });
    expect(view.split('\n')).toEqual(['etc: hostname  opt/app: new.txt ', 'busybox', 'hardlinked', 'tool', '']);
  });
});

describe('authentication', () => {
  guarded('htpasswd (Basic): no credentials, wrong ones, then the right ones from ~/.docker/config.json', async () => {
    const store = newStore();
    const reference = `${basic.host}/lab/app:single`;
    const none = await failure(pullImage(store, reference, { ...noUnpack, dockerConfig: join(scratch, 'absent.json') }));
    expect(none.kind).toBe('permission');
    expect(none.message).toBe(`${basic.host} requires credentials and none are configured (add them for ${basic.host} under "auths" in ~/.docker/config.json, as docker login does)`);
    const wrongConfig = join(scratch, 'wrong-basic.json');
    writeDockerConfig(wrongConfig, basic.host, 'alice', 'looking-glass');
    expect((await failure(pullImage(store, reference, { ...noUnpack, dockerConfig: wrongConfig }))).message)
      .toBe(`${basic.host} refused the credentials of alice (from ${wrongConfig}) for ${basic.host}/lab/app`);
    expectNothingLeftBehind(store);
    const rightConfig = join(scratch, 'right-basic.json');
    writeDockerConfig(rightConfig, `https://${basic.host}/v1/`, 'alice', 'wonderland');
    const result = await pullImage(store, reference, { ...noUnpack, dockerConfig: rightConfig });
    expect(result.record.config).toBe(images[host]!.config.digest);
  });

  guarded('bearer tokens: anonymous for a public repository, credentials for a private one', async () => {
    const store = newStore();
    const absent = join(scratch, 'absent.json');
    await pullImage(store, `${withTokens.host}/lab/app:single`, { ...noUnpack, dockerConfig: absent });
    expect(tokens.requests.filter((request) => request.account === null && request.scopes.includes('repository:lab/app:pull') && request.granted).length).toBeGreaterThan(0);

    const denied = await failure(pullImage(store, `${withTokens.host}/lab/private:1`, { ...noUnpack, dockerConfig: absent }));
    expect(denied.message).toBe(`${withTokens.host} denied pull access to ${withTokens.host}/lab/private: the repository does not exist or needs credentials (add them for ${withTokens.host} under "auths" in ~/.docker/config.json, as docker login does)`);

    const wrongConfig = join(scratch, 'wrong-token.json');
    writeDockerConfig(wrongConfig, withTokens.host, 'bob', 'nope');
    expect((await failure(pullImage(store, `${withTokens.host}/lab/private:1`, { ...noUnpack, dockerConfig: wrongConfig }))).message)
      .toBe(`127.0.0.1:${new URL(tokens.realm).port} refused the credentials of bob (from ${wrongConfig})`);

    const rightConfig = join(scratch, 'right-token.json');
    writeDockerConfig(rightConfig, withTokens.host, 'bob', 'builder');
    const result = await pullImage(store, `${withTokens.host}/lab/private:1`, { ...noUnpack, dockerConfig: rightConfig });
    expect(result.record.config).toBe(images[host]!.config.digest);
    expect(tokens.requests.some((request) => request.account === 'bob' && request.scopes.includes('repository:lab/private:pull') && request.granted)).toBe(true);
  });

  test('challenges parse as registries send them', () => {
    expect(parseChallenges(['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"', 'Basic realm="x, y"'])).toEqual([
      { scheme: 'bearer', parameters: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } },
      { scheme: 'basic', parameters: { realm: 'x, y' } },
    ]);
  });

  test('HTTPS unless loopback or named insecure; Docker Hub is registry-1.docker.io', () => {
    expect(endpointFor('docker.io').origin).toBe('https://registry-1.docker.io');
    expect(endpointFor('registry.example:5000').origin).toBe('https://registry.example:5000');
    expect(endpointFor('registry.example:5000', ['registry.example:5000']).origin).toBe('http://registry.example:5000');
    expect(endpointFor('127.0.0.1:5000').origin).toBe('http://127.0.0.1:5000');
    expect(endpointFor('localhost:5000').origin).toBe('http://localhost:5000');
    expect(endpointFor('[::1]:5000').origin).toBe('http://[::1]:5000');
  });
});

describe('a registry that misbehaves', () => {
  const config = Buffer.from(JSON.stringify({ architecture: host, os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256('unused')] } }));
  const layer = randomBytes(256 * 1024);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
  }));
  type Mode = 'wrong-bytes' | 'truncated' | 'stalled' | 'longer' | 'redirect';
  let mode: Mode = 'wrong-bytes';
  const cdnAuthorization: (string | undefined)[] = [];

  const cdn = http.createServer((request, response) => {
    cdnAuthorization.push(request.headers.authorization);
    response.writeHead(200, { 'Content-Length': layer.length }).end(layer);
  });
  const registry = http.createServer((request, response) => {
    const path = request.url ?? '';
    if (path.startsWith('/token')) return void response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"token":"t0k3n"}');
    if (mode === 'redirect' && request.headers.authorization !== 'Bearer t0k3n') {
      response.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://127.0.0.1:${(registry.address() as AddressInfo).port}/token",service="bad"` }).end();
      return;
    }
    if (path.endsWith('/manifests/latest')) {
      return void response.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': manifest.length }).end(manifest);
    }
    if (path.endsWith(`/blobs/${sha256(config)}`)) return void response.writeHead(200, { 'Content-Length': config.length }).end(config);
    if (path.endsWith(`/blobs/${sha256(layer)}`)) {
      if (mode === 'wrong-bytes') return void response.writeHead(200, { 'Content-Length': layer.length }).end(randomBytes(layer.length));
      if (mode === 'longer') return void response.writeHead(200, { 'Content-Length': layer.length + 1 }).end(Buffer.concat([layer, Buffer.from('!')]));
      if (mode === 'redirect') {
        return void response.writeHead(307, { Location: `http://127.0.0.1:${(cdn.address() as AddressInfo).port}/signed/blob?sig=abc` }).end();
      }
      response.writeHead(200, { 'Content-Length': layer.length });
      // truncated: half, then the connection closes; stalled: half, then silence
      response.write(layer.subarray(0, layer.length / 2), () => mode === 'truncated' && setTimeout(() => response.socket?.destroy(), 20));
      return;
    }
    response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => registry.close(resolve));
    await new Promise((resolve) => cdn.close(resolve));
  });
  const reference = () => `127.0.0.1:${(registry.address() as AddressInfo).port}/bad/app`;

  test('wrong bytes for a layer: refused by digest, no blob kept', async () => {
    mode = 'wrong-bytes';
    const store = newStore();
    const error = await failure(pullImage(store, reference(), noUnpack));
    expect(error.message).toMatch(/^layer 1 of 127\.0\.0\.1:\d+\/bad\/app:latest \([0-9a-f]{12}\) does not match its digest: expected [0-9a-f]{12}…, got [0-9a-f]{12}… \(the source sent other bytes\): nothing kept$/);
    expect(store.content.has(sha256(layer) as never)).toBe(false);
    expectNothingLeftBehind(store, [sha256(manifest), sha256(config)]);
  });

  test('a connection cut half-way through a layer: one line, no partial blob', async () => {
    mode = 'truncated';
    const store = newStore();
    const error = await failure(pullImage(store, reference(), noUnpack));
    expect(error.message).toMatch(/^layer 1 of 127\.0\.0\.1:\d+\/bad\/app:latest \([0-9a-f]{12}\): transfer failed after \d+ bytes: the connection was cut; nothing kept$/);
    expectNothingLeftBehind(store, [sha256(manifest), sha256(config)]);
  });

  test('a registry that stops sending mid-layer times out: one line, no partial blob', async () => {
    mode = 'stalled';
    const store = newStore();
    const error = await failure(pullImage(store, reference(), { ...noUnpack, timeoutMs: 300 }));
    expect(error.message).toMatch(/^layer 1 of 127\.0\.0\.1:\d+\/bad\/app:latest \([0-9a-f]{12}\): transfer failed after \d+ bytes: no data from 127\.0\.0\.1:\d+ for 0\.3 s; nothing kept$/);
    expectNothingLeftBehind(store, [sha256(manifest), sha256(config)]);
  });

  test('a Content-Length that disagrees with the manifest is refused before a byte is written', async () => {
    mode = 'longer';
    const store = newStore();
    const error = await failure(pullImage(store, reference(), noUnpack));
    expect(error.message).toMatch(/offers 262145 bytes but the manifest says 262144: refused, nothing kept$/);
    expectNothingLeftBehind(store, [sha256(manifest), sha256(config)]);
  });

  test('a blob redirected to a CDN is followed without the registry token', async () => {
    mode = 'redirect';
    const store = newStore();
    // the config's diff IDs do not describe this random layer: only the transfer is under test
    await pullImage(store, reference(), noUnpack);
    expect(store.content.has(sha256(layer) as never)).toBe(true);
    expect(cdnAuthorization).toEqual([undefined]);
  });
});

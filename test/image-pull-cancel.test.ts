/*
 * Cancelling a pull through the protocol: the extension's "Pull Image…" notification has a Cancel
 * button, which cancels the image.pull request ($/cancelRequest). The real agent service pulls
 * from Debian's docker-registry on 127.0.0.1 through a slow forwarder this file runs (so the
 * transfer is surely under way when the cancel arrives). Afterwards nothing is half-stored: no
 * temporary blob in the ingest directory, no half-unpacked layer, no name; the agent still
 * answers, and the same pull then completes. Also here: the files methods' limits, refused by the
 * service in one line.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ImagePullEvent } from '../agent/protocol';
import { FILES_READ_LIMIT, RpcErrorCode } from '../agent/protocol';
import { REQUEST_CANCELLED } from '../agent/service/jsonrpc';
import { OciLayout } from './helpers/oci-layout';
import { REGISTRY, REGISTRY_FIX, startRegistry } from './helpers/registry';
import type { TestRegistry } from './helpers/registry';
import { goArch, pushImage } from './helpers/runnable-images';
import { startService, stopService } from './helpers/service';
import type { RunningService } from './helpers/service';
import { onPath } from './helpers/tools';
import { waitFor } from './helpers/wait';

const tools = onPath('skopeo') && existsSync(REGISTRY);
if (!tools && process.env.CI === 'true') throw new Error(`docker-registry or skopeo missing: ${REGISTRY_FIX}`);

const LAYER_BYTES = 12 * 1024 * 1024;
/** Bytes per 50 ms tick the forwarder passes on (~2.5 MB/s): the layer takes about five seconds. */
const SLOW_CHUNK = 128 * 1024;

let scratch: string;
let stateRoot: string;
let registry: TestRegistry;
let slow: { server: Server; port: number; sockets: Set<Socket> };
let service: RunningService;

/** A TCP forwarder to the registry that passes at most SLOW_CHUNK bytes per tick towards the client. */
async function slowForwarder(target: number): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      const pieces: Buffer[] = [];
      for (let at = 0; at < chunk.length; at += SLOW_CHUNK) pieces.push(chunk.subarray(at, at + SLOW_CHUNK));
      const next = (): void => {
        const piece = pieces.shift();
        if (!piece) return void upstream.resume();
        if (!client.destroyed) client.write(piece);
        setTimeout(next, 50);
      };
      next();
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

beforeAll(async () => {
  if (!tools) return;
  scratch = mkdtempSync('/tmp/cl-pull-cancel-src-');
  const tree = join(scratch, 'tree');
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'noise.bin'), randomBytes(LAYER_BYTES));
  const layout = new OciLayout(join(scratch, 'layout'));
  const image = layout.addImage({ layers: [layout.addLayer(tree, { compression: 'none' })], architecture: goArch() });
  layout.tag(image.manifest, 'big');
  registry = await startRegistry(scratch, join(scratch, 'storage'));
  await pushImage(layout.dir, 'big', `${registry.host}/lab/big:1`);
  slow = await slowForwarder(registry.port);
  stateRoot = mkdtempSync('/tmp/cl-pull-cancel-');
  service = await startService(stateRoot, join(stateRoot, 'agent.sock'));
}, 120_000);

afterAll(async () => {
  if (!tools) return;
  if (service) await stopService(service);
  for (const socket of slow?.sockets ?? []) socket.destroy();
  await new Promise((resolve) => slow?.server.close(resolve));
  await registry?.stop();
  rmSync(stateRoot, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
}, 60_000);

/** Files a pull leaves while it runs: temporary blobs and half-unpacked layer directories. */
function halfStored(): string[] {
  const ingest = join(stateRoot, 'images', 'ingest');
  const layers = join(stateRoot, 'images', 'layers');
  return [
    ...(existsSync(ingest) ? readdirSync(ingest).filter((name) => name.endsWith('.partial')) : []),
    ...(existsSync(layers) ? readdirSync(layers).filter((name) => name.includes('.partial-')) : []),
  ];
}

describe.skipIf(!tools)('image.pull, cancelled through the protocol', () => {
  test('a cancel mid-transfer ends the pull in one line; nothing half-stored, no name; the next pull completes', async () => {
    const reference = `127.0.0.1:${slow.port}/lab/big:1`;
    const events: ImagePullEvent[] = [];
    const controller = new AbortController();
    const off = service.client.on('image.progress', ({ event }) => {
      events.push(event);
      if (event.type === 'layer' && event.state === 'downloading' && event.bytes > 0) controller.abort();
    });
    const pulled = service.client.call('image.pull', { reference }, { signal: controller.signal, timeoutMs: 60_000 });
    await expect(pulled).rejects.toMatchObject({ code: REQUEST_CANCELLED });
    // The agent drops the transfer: the temporary file goes, and the layer is never unpacked.
    const left = await waitFor(() => halfStored(), (names) => names.length === 0);
    expect(left).toEqual([]);
    off();
    const downloading = events.filter((event) => event.type === 'layer' && event.state === 'downloading');
    expect(downloading.length).toBeGreaterThan(0);
    expect(events.some((event) => event.type === 'layer' && (event.state === 'unpacking' || event.state === 'unpacked'))).toBe(false);
    expect(events.some((event) => event.type === 'done')).toBe(false);
    expect(await service.client.call('image.list', {})).toEqual([]);
    expect(existsSync(join(stateRoot, 'images', 'layers')) ? readdirSync(join(stateRoot, 'images', 'layers')) : []).toEqual([]);

    // The agent is fine, and the pull can be done again, to the end.
    const result = await service.client.call('image.pull', { reference: `${registry.host}/lab/big:1` }, { timeoutMs: 60_000 });
    expect(result.layers).toHaveLength(1);
    expect(result.layers[0]!.fetched).toBe(true);
    expect((await service.client.call('image.list', {})).map((image) => image.name)).toEqual([`${registry.host}/lab/big:1`]);
    expect(halfStored()).toEqual([]);
    expect(service.unexpectedExit()).toBeNull();
  }, 60_000);

  test('two pulls share one transfer of a layer; cancelling the pull that started it does not fail the other', async () => {
    const name = `${registry.host}/lab/big:1`;
    await service.client.call('image.remove', { reference: name });
    await service.client.call('image.prune', {});
    expect(await service.client.call('image.list', {})).toEqual([]);
    const reference = `127.0.0.1:${slow.port}/lab/big:1`;
    const first = new AbortController();
    let downloading = 0;
    const off = service.client.on('image.progress', ({ event }) => {
      if (event.type === 'layer' && event.state === 'downloading' && event.bytes > 0) downloading += 1;
    });
    const cancelled = service.client.call('image.pull', { reference }, { signal: first.signal, timeoutMs: 60_000 });
    await waitFor(() => downloading, (count) => count > 0);
    // the second pull joins the first one's transfer of the same layer (one fetch, not two)
    const joined = service.client.call('image.pull', { reference }, { timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    first.abort();
    await expect(cancelled).rejects.toMatchObject({ code: REQUEST_CANCELLED });
    const result = await joined;
    off();
    expect(result.layers).toHaveLength(1);
    expect((await service.client.call('image.list', {})).map((image) => image.name)).toEqual([reference]);
    expect(halfStored()).toEqual([]);
    expect(service.unexpectedExit()).toBeNull();
    await service.client.call('image.remove', { reference });
    await service.client.call('image.prune', {});
  }, 60_000);

  test('the files methods refuse what is out of bounds in one line, and the agent carries on', async () => {
    const read = (params: Record<string, unknown>) => service.client.call('container.files.read', params as never);
    await expect(read({ id: 'nope', path: '/etc/passwd', length: FILES_READ_LIMIT + 1 })).rejects.toMatchObject({
      code: RpcErrorCode.InvalidParams, message: `container.files.read: parameter "length" must be an integer from 0 to ${FILES_READ_LIMIT}`,
    });
    await expect(read({ id: 'nope', path: '/etc/passwd', offset: -1 })).rejects.toMatchObject({ code: RpcErrorCode.InvalidParams });
    await expect(read({ id: 'nope', path: '/etc/\u0000passwd' })).rejects.toMatchObject({ code: RpcErrorCode.InvalidParams });
    await expect(service.client.call('container.files.list', { id: 'nope', path: '/' })).rejects.toMatchObject({ code: RpcErrorCode.NotFound });
    await expect(service.client.call('container.layers', { id: 'nope' })).rejects.toMatchObject({ code: RpcErrorCode.NotFound });
    expect((await service.client.call('agent.info', {})).stateRoot).toBe(stateRoot);
  });
});

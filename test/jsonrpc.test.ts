/*
 * RpcConnection, the JSON-RPC 2.0 layer both the agent and its clients use: over an in-memory pipe
 * pair and over a real Unix socket. Malformed input is written as raw bytes on the socket, the way
 * a buggy or hostile peer would send it, and the answers are read back as raw lines.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { ContainerRecord } from '../agent/protocol';
import { RpcErrorCode } from '../agent/protocol';
import {
  REQUEST_CANCELLED,
  RpcConnection,
  RpcConnectionError,
  RpcError,
  callMethod,
  onAgentNotification,
} from '../agent/service/jsonrpc';
import type { RequestContext } from '../agent/service/jsonrpc';
import { lineReader } from './helpers/json-lines';

type Pair = { left: RpcConnection; right: RpcConnection; close(): void };

function pipePair(): Pair {
  const leftToRight = new PassThrough();
  const rightToLeft = new PassThrough();
  const left = new RpcConnection({ input: rightToLeft, output: leftToRight });
  const right = new RpcConnection({ input: leftToRight, output: rightToLeft });
  return { left, right, close: () => (left.close(), right.close()) };
}

let directory: string;
let server: Server | null = null;
const sockets: Socket[] = [];

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'cl-jsonrpc-'));
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = null;
  rmSync(directory, { recursive: true, force: true });
});

/** A real Unix socket; the server side of each connection is an RpcConnection set up by `setup`. */
async function socketServer(setup: (connection: RpcConnection) => void, maxLineBytes?: number): Promise<string> {
  const path = join(directory, 'rpc.sock');
  server = createServer((socket) => {
    sockets.push(socket);
    setup(new RpcConnection(socket, maxLineBytes === undefined ? {} : { maxLineBytes }));
  });
  await new Promise<void>((resolve) => server!.listen(path, resolve));
  return path;
}

async function connect(path: string): Promise<Socket> {
  const socket = createConnection(path);
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

function echoHandler(method: string, params: unknown): unknown {
  if (method === 'echo') return params;
  if (method === 'fail') throw new RpcError(RpcErrorCode.NotFound, 'no such thing');
  if (method === 'crash') throw new Error('boom');
  throw new RpcError(RpcErrorCode.MethodNotFound, `method not found: ${method}`);
}

describe.each([
  ['an in-memory pipe pair', 'pipe'],
  ['a real Unix socket', 'socket'],
] as const)('RpcConnection over %s', (_label, kind) => {
  async function makePair(setupServer: (connection: RpcConnection) => void): Promise<{ client: RpcConnection; serverSide: Promise<RpcConnection> }> {
    if (kind === 'pipe') {
      const pair = pipePair();
      setupServer(pair.right);
      return { client: pair.left, serverSide: Promise.resolve(pair.right) };
    }
    let resolveServer!: (connection: RpcConnection) => void;
    const serverSide = new Promise<RpcConnection>((resolve) => (resolveServer = resolve));
    const path = await socketServer((connection) => {
      setupServer(connection);
      resolveServer(connection);
    });
    return { client: new RpcConnection(await connect(path)), serverSide };
  }

  it('answers requests and correlates concurrent ones by id', async () => {
    const { client } = await makePair((connection) =>
      connection.onRequest(async (method, params) => {
        const { delay, value } = params as { delay: number; value: string };
        await new Promise((resolve) => setTimeout(resolve, delay));
        return { method, value };
      }),
    );
    const answers = await Promise.all([
      client.request('slow', { delay: 60, value: 'a' }),
      client.request('fast', { delay: 1, value: 'b' }),
      client.request('mid', { delay: 20, value: 'c' }),
    ]);
    expect(answers).toEqual([
      { method: 'slow', value: 'a' },
      { method: 'fast', value: 'b' },
      { method: 'mid', value: 'c' },
    ]);
    client.close();
  });

  it('turns handler errors into JSON-RPC errors: RpcError keeps its code, others are -32603', async () => {
    const { client } = await makePair((connection) => connection.onRequest(echoHandler));
    await expect(client.request('fail', {})).rejects.toMatchObject({ code: RpcErrorCode.NotFound, message: 'no such thing' });
    await expect(client.request('crash', {})).rejects.toMatchObject({ code: RpcErrorCode.InternalError, message: 'internal error: boom' });
    await expect(client.request('nope', {})).rejects.toMatchObject({ code: RpcErrorCode.MethodNotFound });
    expect(await client.request('echo', { still: 'working' })).toEqual({ still: 'working' });
    client.close();
  });

  it('delivers notifications in both directions', async () => {
    let serverConnection!: RpcConnection;
    const fromClient: unknown[] = [];
    const { client } = await makePair((connection) => {
      serverConnection = connection;
      connection.onNotification((method, params) => fromClient.push({ method, params }));
      connection.onRequest(() => {
        connection.notify('container.removed', { id: 'abc', name: 'web' });
        return 'ok';
      });
    });
    const received: unknown[] = [];
    onAgentNotification(client, 'container.removed', (params) => received.push(params));
    client.notify('hello', { n: 1 });
    expect(await client.request('poke')).toBe('ok');
    expect(received).toEqual([{ id: 'abc', name: 'web' }]);
    await expect.poll(() => fromClient).toEqual([{ method: 'hello', params: { n: 1 } }]);
    expect(serverConnection.closed).toBe(false);
    client.close();
  });

  it('times out a request and tells the peer to cancel it', async () => {
    let seen!: RequestContext;
    const { client } = await makePair((connection) =>
      connection.onRequest((_method, _params, context) => {
        seen = context;
        return new Promise(() => {});
      }),
    );
    const started = Date.now();
    await expect(client.request('hang', {}, { timeoutMs: 100 })).rejects.toThrow(RpcConnectionError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    await expect.poll(() => seen?.signal.aborted).toBe(true);
    client.close();
  });

  it('cancels a request through an AbortSignal and sends $/cancelRequest', async () => {
    const aborted: unknown[] = [];
    const { client } = await makePair((connection) =>
      connection.onRequest((_method, _params, context) => {
        context.signal.addEventListener('abort', () => aborted.push(context.id));
        return new Promise(() => {});
      }),
    );
    const controller = new AbortController();
    const pending = client.request('hang', {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(pending).rejects.toMatchObject({ code: REQUEST_CANCELLED });
    await expect.poll(() => aborted.length).toBe(1);
    client.close();
  });

  it('rejects pending requests with a clear error when the peer closes, and later ones at once', async () => {
    const { client, serverSide } = await makePair((connection) => connection.onRequest(() => new Promise(() => {})));
    const pending = client.request('container.run', {});
    const peer = await serverSide;
    await new Promise((resolve) => setTimeout(resolve, 20));
    peer.close();
    await expect(pending).rejects.toThrow(/closed.*before the answer to "container\.run" arrived/);
    await expect(client.request('echo', {})).rejects.toThrow(RpcConnectionError);
    expect(client.closed).toBe(true);
  });
});

describe('malformed input on a real Unix socket', () => {
  it('answers each bad line with the right error code and keeps serving', async () => {
    const path = await socketServer((connection) => connection.onRequest(echoHandler));
    const socket = await connect(path);
    const next = lineReader(socket);
    const send = (text: string): void => void socket.write(text + '\n');

    send('this is not json');
    expect(await next()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.ParseError } });
    send('{"jsonrpc":"2.0","id":1,"method":"echo"'); // truncated JSON
    expect(await next()).toMatchObject({ id: null, error: { code: RpcErrorCode.ParseError } });
    send('42');
    expect(await next()).toMatchObject({ id: null, error: { code: RpcErrorCode.InvalidRequest } });
    send('{"jsonrpc":"1.0","id":2,"method":"echo"}');
    expect(await next()).toMatchObject({ id: 2, error: { code: RpcErrorCode.InvalidRequest, message: expect.stringMatching(/2\.0/) } });
    send('{"jsonrpc":"2.0","id":3}');
    expect(await next()).toMatchObject({ id: 3, error: { code: RpcErrorCode.InvalidRequest, message: expect.stringMatching(/method/) } });
    send('{"jsonrpc":"2.0","id":4,"method":"echo","params":5}');
    expect(await next()).toMatchObject({ id: 4, error: { code: RpcErrorCode.InvalidRequest, message: expect.stringMatching(/params/) } });
    send('{"jsonrpc":"2.0","id":{"x":1},"method":"echo"}');
    expect(await next()).toMatchObject({ id: null, error: { code: RpcErrorCode.InvalidRequest, message: expect.stringMatching(/id/) } });
    send('{"jsonrpc":"2.0","id":5,"method":"no.such.method"}');
    expect(await next()).toMatchObject({ id: 5, error: { code: RpcErrorCode.MethodNotFound } });
    send('[]');
    expect(await next()).toMatchObject({ id: null, error: { code: RpcErrorCode.InvalidRequest } });
    // A batch: two requests and a notification -> an array with the two answers.
    send('[{"jsonrpc":"2.0","id":6,"method":"echo","params":[1]},{"jsonrpc":"2.0","method":"note"},{"jsonrpc":"2.0","id":7,"method":"fail"},1]');
    const batch = (await next()) as { id: number | null }[];
    expect(batch).toHaveLength(3);
    expect(batch).toEqual(
      expect.arrayContaining([
        { jsonrpc: '2.0', id: 6, result: [1] },
        expect.objectContaining({ id: 7, error: expect.objectContaining({ code: RpcErrorCode.NotFound }) }),
        expect.objectContaining({ id: null, error: expect.objectContaining({ code: RpcErrorCode.InvalidRequest }) }),
      ]),
    );
    // After all that, the same connection still works.
    send('{"jsonrpc":"2.0","id":8,"method":"echo","params":{"ok":true}}');
    expect(await next()).toEqual({ jsonrpc: '2.0', id: 8, result: { ok: true } });
  });

  it('drops a line larger than the limit with an error, then reads the next line normally', async () => {
    const path = await socketServer((connection) => connection.onRequest(echoHandler), 1024);
    const socket = await connect(path);
    const next = lineReader(socket);
    // Sent in pieces, as a stream delivers it: the limit must hold across chunks.
    const huge = `{"jsonrpc":"2.0","id":1,"method":"echo","params":["${'x'.repeat(20_000)}"]}`;
    for (let at = 0; at < huge.length; at += 700) socket.write(huge.slice(at, at + 700));
    socket.write('\n{"jsonrpc":"2.0","id":2,"method":"echo","params":["small"]}\n');
    expect(await next()).toMatchObject({ id: null, error: { code: RpcErrorCode.InvalidRequest, message: expect.stringMatching(/larger than 1024 bytes/) } });
    expect(await next()).toEqual({ jsonrpc: '2.0', id: 2, result: ['small'] });
  });

  it('accepts a message split across many writes and several messages in one write', async () => {
    const path = await socketServer((connection) => connection.onRequest(echoHandler));
    const socket = await connect(path);
    const next = lineReader(socket);
    const text = '{"jsonrpc":"2.0","id":1,"method":"echo","params":["é✓"]}\n{"jsonrpc":"2.0","id":2,"method":"echo","params":[2]}\n';
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; at += 3) socket.write(bytes.subarray(at, at + 3)); // splits UTF-8 sequences too
    expect(await next()).toEqual({ jsonrpc: '2.0', id: 1, result: ['é✓'] });
    expect(await next()).toEqual({ jsonrpc: '2.0', id: 2, result: [2] });
  });
});

describe('typed helpers', () => {
  it('types requests and results from AgentMethods', async () => {
    const pair = pipePair();
    pair.right.onRequest((method, params) => ({ method, params }));
    const answer = callMethod(pair.left, 'container.inspect', { id: 'web' });
    expectTypeOf(answer).toEqualTypeOf<Promise<ContainerRecord>>();
    // @ts-expect-error: container.inspect needs an id
    void callMethod(pair.left, 'container.inspect', {}).catch(() => {});
    expect(await answer).toEqual({ method: 'container.inspect', params: { id: 'web' } });
    pair.close();
  });
});

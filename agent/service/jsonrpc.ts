/*
 * JSON-RPC 2.0 over a byte stream.
 *
 * JSON-RPC (https://www.jsonrpc.org/specification) is a tiny protocol: a request is an object
 * {"jsonrpc":"2.0","id":7,"method":"container.inspect","params":{...}}, its answer carries the
 * same id and either a `result` or an `error` {code, message}; a message without an id is a
 * notification and gets no answer. The agent speaks it to the CLI over a Unix socket and to the
 * VS Code extension over one SSH stream, so both ends use this one `RpcConnection` class: either
 * side may send requests and notifications.
 *
 * Framing: one JSON message per line ("newline-delimited JSON"). JSON.stringify never emits a raw
 * newline (newlines inside strings are escaped as \n), so a line break can only end a message.
 * Compared with LSP's `Content-Length:` headers this needs no byte counting, survives any stream
 * that preserves bytes (a socket, stdin/stdout, an SSH channel), and a learner can talk to the
 * agent by hand with `socat - UNIX-CONNECT:/run/containers-lab/agent.sock`. A line longer than
 * `maxLineBytes` is answered with an error (id null: whose it was is in the dropped part) and
 * dropped up to its newline, so a runaway peer cannot make the agent buffer without bound; our
 * own requests are measured before they leave, so a caller is told instead of left waiting. A
 * line nesting deeper than `maxDepth` is refused before it is parsed (./json-scan.ts says why),
 * answered with the request's id when the line names one.
 *
 * Bad input never closes the connection: a line that is not JSON gets -32700, a value that is not
 * a request (wrong version, no method, bad id) gets -32600, an unknown method -32601, and the
 * next line is read as usual. Batches (a JSON array of messages) are supported as the spec says.
 * Every error message sent is one line of at most 300 characters (./error-text.ts).
 *
 * Cancellation follows LSP's convention: a `$/cancelRequest` notification {id} asks the other side
 * to give up on a request; the handler sees it through an AbortSignal.
 */
import type { Readable, Writable } from 'node:stream';
import { quote } from '../errors';
import { RpcErrorCode } from '../protocol';
import { boundedMessage } from './error-text';
import { scanJson, tooDeepError } from './json-scan';
import { RpcConnectionError, RpcError } from './rpc-errors';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type RequestId = string | number;

/** 8 MiB: far above any record or snapshot the agent sends, far below trouble. */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024;
/** Far deeper than any message of the protocol (an OCI config with seccomp rules is about 10). */
export const DEFAULT_MAX_DEPTH = 64;

/** The error code LSP uses for a request the client cancelled. */
export const REQUEST_CANCELLED = -32800;
const CANCEL_METHOD = '$/cancelRequest';

// The two errors a call can end with live beside this file; every caller imports them from here.
export { RpcConnectionError, RpcError };

export interface RequestOptions {
  /** Rejects (and cancels on the peer) when no answer came within this many milliseconds. */
  timeoutMs?: number;
  /** Aborting rejects the call and sends `$/cancelRequest` to the peer. */
  signal?: AbortSignal;
}

export interface RequestContext {
  id: RequestId;
  /** Aborted when the peer cancels the request or the connection closes. */
  signal: AbortSignal;
}

export type RequestHandler = (method: string, params: unknown, context: RequestContext) => unknown;
export type NotificationHandler = (method: string, params: unknown) => void;

/** Either one duplex stream (a socket) or two halves (stdin + stdout). */
export type RpcTransport = (Readable & Writable) | { input: Readable; output: Writable };

export interface RpcConnectionOptions {
  maxLineBytes?: number;
  /** How deep arrays and objects may nest in one message. */
  maxDepth?: number;
  /** Where to report protocol trouble that has no one to answer to (default: nowhere). */
  log?: (line: string) => void;
}

interface PendingRequest {
  method: string;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  cleanup: () => void;
}

type Message = Record<string, unknown>;

export class RpcConnection {
  private readonly input: Readable;
  private readonly output: Writable;
  /** True for a socket (one duplex stream), false for two halves such as stdin + stdout. */
  private readonly sameStream: boolean;
  private readonly maxLineBytes: number;
  private readonly maxDepth: number;
  private readonly log: (line: string) => void;
  private nextId = 1;
  private readonly pending = new Map<RequestId, PendingRequest>();
  private readonly incoming = new Map<RequestId, AbortController>();
  private requestHandler: RequestHandler | null = null;
  private notificationHandlers: NotificationHandler[] = [];
  private closeListeners: ((reason: Error) => void)[] = [];
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private discardingLongLine = false;
  private closeReason: Error | null = null;

  constructor(transport: RpcTransport, options: RpcConnectionOptions = {}) {
    if ('input' in transport && 'output' in transport) {
      this.input = transport.input;
      this.output = transport.output;
      this.sameStream = false;
    } else {
      this.input = transport;
      this.output = transport;
      this.sameStream = true;
    }
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.log = options.log ?? (() => {});
    this.input.on('data', (chunk: Buffer | string) => this.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    this.input.on('end', () => this.shutdown(new RpcConnectionError('connection closed by the peer')));
    this.input.on('close', () => this.shutdown(new RpcConnectionError('connection closed')));
    this.input.on('error', (error: Error) => this.shutdown(new RpcConnectionError(`connection failed: ${error.message}`)));
    if (!this.sameStream) {
      this.output.on('error', (error: Error) => this.shutdown(new RpcConnectionError(`connection failed: ${error.message}`)));
      this.output.on('close', () => this.shutdown(new RpcConnectionError('connection closed')));
    }
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Sends a request and resolves with its result; rejects with RpcError when the peer answers an error. */
  request(method: string, params?: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (this.closeReason) return Promise.reject(this.closeReason);
    if (options.signal?.aborted) return Promise.reject(cancelledError(method));
    const id = this.nextId++;
    const message: Message = { jsonrpc: '2.0', id, method };
    if (params !== undefined) message.params = params;
    // The peer drops a line over the limit unanswered (it cannot know whose it was), and would
    // leave this call waiting: refuse it here, where the caller hears why.
    let line: string;
    try {
      line = JSON.stringify(message);
    } catch {
      return Promise.reject(new RpcError(RpcErrorCode.InvalidRequest, `${quote(method)} not sent: its params cannot be written as JSON (a cycle, a BigInt, or nested too deep)`));
    }
    const bytes = Buffer.byteLength(line) + 1;
    if (bytes > this.maxLineBytes) {
      return Promise.reject(new RpcError(RpcErrorCode.InvalidRequest, `${quote(method)} not sent: the request is ${bytes} bytes, more than the ${this.maxLineBytes} a message may have`));
    }
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        this.abandon(id);
        reject(cancelledError(method));
      };
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
      };
      this.pending.set(id, { method, resolve, reject, cleanup });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.abandon(id);
          reject(new RpcConnectionError(`no answer to "${method}" within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.writeLine(line);
    });
  }

  /** Sends a notification; returns false when the connection is already closed. */
  notify(method: string, params?: unknown): boolean {
    if (this.closeReason) return false;
    const message: Message = { jsonrpc: '2.0', method };
    if (params !== undefined) message.params = params;
    this.send(message);
    return true;
  }

  /** The one handler for requests from the peer; its result (or thrown RpcError) is the answer. */
  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler;
  }

  onNotification(handler: NotificationHandler): () => void {
    this.notificationHandlers.push(handler);
    return () => {
      this.notificationHandlers = this.notificationHandlers.filter((h) => h !== handler);
    };
  }

  onClose(listener: (reason: Error) => void): () => void {
    if (this.closeReason) {
      const reason = this.closeReason;
      queueMicrotask(() => listener(reason));
      return () => {};
    }
    this.closeListeners.push(listener);
    return () => {
      this.closeListeners = this.closeListeners.filter((l) => l !== listener);
    };
  }

  /** Ends the stream; pending requests reject with a clear error. */
  close(): void {
    this.shutdown(new RpcConnectionError('connection closed'));
    if (!this.output.writableEnded) this.output.end();
    if (!this.sameStream) this.input.destroy();
  }

  // --- outgoing -------------------------------------------------------------------------------

  private send(message: Message | Message[]): void {
    this.writeLine(JSON.stringify(message));
  }

  private writeLine(line: string): void {
    if (this.output.writableEnded || this.output.destroyed) return;
    // Messages sent in one turn of the event loop (a `run` sends two notifications and its
    // answer) leave in one write(2): the stream is corked at the first and uncorked once the
    // turn's callbacks and promise jobs have run, so the peer wakes up once, not per message.
    if (!this.corked) {
      this.corked = true;
      this.output.cork();
      setImmediate(this.uncork);
    }
    this.output.write(line + '\n');
  }

  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    if (!this.output.destroyed) this.output.uncork();
  };

  /** Forgets a request we no longer wait for and tells the peer it may stop working on it. */
  private abandon(id: RequestId): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    entry.cleanup();
    this.notify(CANCEL_METHOD, { id });
  }

  // --- incoming -------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) {
        this.appendPartial(chunk.subarray(start));
        return;
      }
      this.appendPartial(chunk.subarray(start, newline));
      this.finishLine();
      start = newline + 1;
    }
  }

  private appendPartial(part: Buffer): void {
    if (this.discardingLongLine || part.length === 0) return;
    if (this.partialBytes + part.length > this.maxLineBytes) {
      this.partial = [];
      this.partialBytes = 0;
      this.discardingLongLine = true;
      this.send(errorResponse(null, RpcErrorCode.InvalidRequest, `invalid request: message larger than ${this.maxLineBytes} bytes: dropped`));
      return;
    }
    this.partial.push(part);
    this.partialBytes += part.length;
  }

  private finishLine(): void {
    if (this.discardingLongLine) {
      this.discardingLongLine = false;
      return;
    }
    const line = Buffer.concat(this.partial, this.partialBytes).toString('utf8').trim();
    this.partial = [];
    this.partialBytes = 0;
    if (line !== '') this.handleLine(line);
  }

  private handleLine(line: string): void {
    // A line cannot nest deeper than it is long: short lines need no look.
    if (line.length > this.maxDepth) {
      const scan = scanJson(line, this.maxDepth);
      if (scan.tooDeep) {
        const { code, message } = tooDeepError(scan, this.maxDepth);
        this.send(errorResponse(scan.id, code, message));
        return;
      }
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.send(errorResponse(null, RpcErrorCode.ParseError, 'parse error: the line is not valid JSON'));
      return;
    }
    if (Array.isArray(value)) {
      void this.handleBatch(value);
      return;
    }
    void this.handleMessage(value).then((response) => {
      if (response) this.send(response);
    });
  }

  private async handleBatch(batch: unknown[]): Promise<void> {
    if (batch.length === 0) {
      this.send(errorResponse(null, RpcErrorCode.InvalidRequest, 'invalid request: empty batch'));
      return;
    }
    const responses = await Promise.all(batch.map((message) => this.handleMessage(message)));
    const answered = responses.filter((response): response is Message => response !== null);
    if (answered.length > 0) this.send(answered);
  }

  /** Handles one message; resolves with the response to send, or null when none is due. */
  private async handleMessage(value: unknown): Promise<Message | null> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return errorResponse(null, RpcErrorCode.InvalidRequest, 'invalid request: a message must be a JSON object');
    }
    const message = value as Message;
    const id = message.id;
    const idIsValid = id === undefined || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) || id === null;
    const replyId = idIsValid && id !== undefined ? (id as RequestId | null) : null;
    if (message.jsonrpc !== '2.0') {
      return errorResponse(replyId, RpcErrorCode.InvalidRequest, 'invalid request: "jsonrpc" must be "2.0"');
    }
    if (!idIsValid) {
      return errorResponse(null, RpcErrorCode.InvalidRequest, 'invalid request: "id" must be a string or a number');
    }
    if (message.method === undefined && ('result' in message || 'error' in message)) {
      this.handleResponse(message);
      return null;
    }
    if (typeof message.method !== 'string' || message.method === '') {
      return errorResponse(replyId, RpcErrorCode.InvalidRequest, 'invalid request: "method" must be a non-empty string');
    }
    const params = message.params;
    if (params !== undefined && (typeof params !== 'object' || params === null)) {
      return errorResponse(replyId, RpcErrorCode.InvalidRequest, 'invalid request: "params" must be an object or an array');
    }
    if (id === undefined) {
      this.handleNotification(message.method, params);
      return null;
    }
    if (id === null) {
      // The spec discourages null ids; answering would be indistinguishable from an error reply.
      return errorResponse(null, RpcErrorCode.InvalidRequest, 'invalid request: "id" must not be null');
    }
    return this.handleRequest(id as RequestId, message.method, params);
  }

  private handleNotification(method: string, params: unknown): void {
    if (method === CANCEL_METHOD) {
      const id = (params as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string' || typeof id === 'number') this.incoming.get(id)?.abort();
      return;
    }
    for (const handler of this.notificationHandlers) {
      try {
        handler(method, params);
      } catch (error) {
        this.log(`notification handler for ${quote(method)} failed: ${describe(error)}`);
      }
    }
  }

  private async handleRequest(id: RequestId, method: string, params: unknown): Promise<Message> {
    const handler = this.requestHandler;
    if (!handler) return errorResponse(id, RpcErrorCode.MethodNotFound, `method not found: ${quote(method)}`);
    const controller = new AbortController();
    this.incoming.set(id, controller);
    try {
      const result = await handler(method, params, { id, signal: controller.signal });
      if (controller.signal.aborted) return errorResponse(id, REQUEST_CANCELLED, `request cancelled: ${quote(method)}`);
      return { jsonrpc: '2.0', id, result: result === undefined ? null : result };
    } catch (error) {
      if (error instanceof RpcError) return errorResponse(id, error.code, error.message, error.data);
      this.log(`handler for ${quote(method)} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return errorResponse(id, RpcErrorCode.InternalError, `internal error: ${describe(error)}`);
    } finally {
      this.incoming.delete(id);
    }
  }

  private handleResponse(message: Message): void {
    const id = message.id;
    if (typeof id !== 'string' && typeof id !== 'number') {
      // An error the peer could not tie to a request (e.g. our line was unparsable to it).
      const error = message.error as { message?: unknown } | undefined;
      this.log(`peer reported an error without a request id: ${String(error?.message ?? 'unknown')}`);
      return;
    }
    const entry = this.pending.get(id);
    if (!entry) return; // Answer to a request we cancelled or timed out: nobody waits for it.
    entry.cleanup();
    if ('error' in message) {
      const error = message.error as { code?: unknown; message?: unknown; data?: unknown } | null;
      const code = typeof error?.code === 'number' ? error.code : RpcErrorCode.InternalError;
      const text = typeof error?.message === 'string' ? error.message : `"${entry.method}" failed`;
      entry.reject(new RpcError(code, text, error?.data));
    } else {
      entry.resolve(message.result);
    }
  }

  // --- closing --------------------------------------------------------------------------------

  private shutdown(reason: Error): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    for (const entry of [...this.pending.values()]) {
      entry.cleanup();
      entry.reject(new RpcConnectionError(`${reason.message} before the answer to "${entry.method}" arrived`));
    }
    for (const controller of this.incoming.values()) controller.abort();
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const listener of listeners) listener(reason);
  }
}

function errorResponse(id: RequestId | null, code: number, message: string, data?: unknown): Message {
  const error: Message = { code, message: boundedMessage(message) };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', id, error };
}

function cancelledError(method: string): RpcError {
  return new RpcError(REQUEST_CANCELLED, `request cancelled: ${method}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// The typed helpers over the agent's protocol live beside this file; every caller imports them from here.
export { callMethod, onAgentNotification, sendNotification } from './typed-calls';
export type { MethodParams, MethodResult } from './typed-calls';

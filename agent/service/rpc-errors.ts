/*
 * How a JSON-RPC call can fail, as seen by its caller (and thrown by handlers). Re-exported by
 * ./jsonrpc.ts, which is where callers import them from.
 */

/** An error that travels as a JSON-RPC error object: thrown by handlers, rejected to callers. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }
}

/** The connection went away (or timed out) before an answer came; not an error the peer sent. */
export class RpcConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpcConnectionError';
  }
}

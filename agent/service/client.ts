/*
 * The client side of the agent's protocol: what the CLI (and later the VS Code extension, through
 * an SSH-forwarded stream) uses to talk to a running agent.
 *
 * `connectAgent` answers the CLI's first question — is a service running? — by trying the Unix
 * socket: a missing file (ENOENT) or a file nobody listens on (ECONNREFUSED) means "no", and the
 * CLI then runs the runtime in-process instead. Anything else (EACCES for a non-root caller) is a
 * real error and is reported as one.
 */
import { createConnection, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AgentMethod, AgentMethods, AgentNotification, AgentNotifications } from '../protocol';
import { RpcConnection, callMethod, onAgentNotification } from './jsonrpc';
import type { RequestOptions, RpcTransport } from './jsonrpc';
import { defaultSocketPath } from './socket-path';

export interface AgentClient {
  /** A typed request: `call('container.inspect', { id })` resolves to a ContainerRecord. */
  call<M extends AgentMethod>(method: M, params: AgentMethods[M][0], options?: RequestOptions): Promise<AgentMethods[M][1]>;
  /** Subscribes to one notification; returns the unsubscribe function. */
  on<N extends AgentNotification>(notification: N, listener: (params: AgentNotifications[N]) => void): () => void;
  /** Called once when the connection ends, for whatever reason. */
  onClose(listener: (reason: Error) => void): () => void;
  readonly closed: boolean;
  close(): void;
}

/** Wraps any byte stream that carries the agent's protocol (a socket, an SSH channel, a pair). */
export function attachAgent(stream: Duplex | RpcTransport): AgentClient {
  const connection = new RpcConnection(stream);
  return clientFor(connection);
}

/** The typed client over an existing connection. */
export function clientFor(connection: RpcConnection): AgentClient {
  return {
    call: (method, params, options) => callMethod(connection, method, params, options),
    on: (notification, listener) => onAgentNotification(connection, notification, listener),
    onClose: (listener) => connection.onClose(listener),
    get closed() {
      return connection.closed;
    },
    close: () => connection.close(),
  };
}

/** Opens a stream to a Unix socket; rejects with the system error (its `code` says why). */
export function connectSocket(socketPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const onError = (error: NodeJS.ErrnoException): void => {
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** True for the errors that mean "no agent listens there" (no socket file, or nobody accepting). */
export function isNoAgent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

/** Connects to the agent's socket; null when no agent listens there. */
export async function connectAgent(socketPath: string = defaultSocketPath()): Promise<AgentClient | null> {
  try {
    return attachAgent(await connectSocket(socketPath));
  } catch (error) {
    if (isNoAgent(error)) return null;
    const system = error as NodeJS.ErrnoException;
    throw new Error(`cannot connect to the agent at ${socketPath}: ${system.code ?? system.message}`);
  }
}

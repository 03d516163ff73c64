/*
 * The agent's Unix socket: listening on it, refusing to steal it, and letting it go.
 *
 * A client asks "is an agent running?" by connecting to the socket's name; ECONNREFUSED or ENOENT
 * means no. bind(2) creates the name before listen(2) makes it accept, so a client that arrives in
 * between is refused by an agent that is starting. The agent therefore listens under a private
 * name beside the public one and then link(2)s the public name to it: the name appears already
 * accepting, and link fails with EEXIST where another agent got there first (rename(2) would
 * silently replace it). A socket is an inode like a file, so two names reach the same listener.
 *
 * A Unix socket's name holds at most 107 bytes (sun_path, with its NUL); Node truncates a longer
 * one silently, so a longer path is refused up front.
 */
import { chmodSync, linkSync, lstatSync, mkdirSync, rmSync, unlinkSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { badInput, conflict } from '../errors';

export interface SocketListener {
  server: Server;
  /** Remembers a connection, so that closed() can end it if its peer does not. */
  track(socket: Socket): void;
  /** Removes the socket's name (if it is still ours) and stops accepting connections. */
  stopAccepting(): void;
  /**
   * Resolves once the server has closed: connections still open after `graceMs` (a peer that does
   * not answer the end of the stream with its own) are destroyed.
   */
  closed(graceMs: number): Promise<void>;
}

/** How long a client gets to close its side after the service has ended the connection. */
export const CLOSE_GRACE_MS = 1000;

/** sun_path is 108 bytes, and the name must end with a NUL. */
const MAX_SOCKET_NAME = 107;

/** Numbers this process's private names, so that two listens at once never share one. */
let listens = 0;

/** Listens on `path`, replacing a stale socket there but never a live agent's. */
export async function listenOnSocket(path: string): Promise<SocketListener> {
  const directory = dirname(path);
  const privateName = join(directory, `.listening-${process.pid}-${++listens}`);
  await removeStaleSocket(path); // refuses a live agent's socket, and a path too long for one
  assertFitsSocketName(privateName);
  // A directory we create is 0700; an existing one (say /tmp) is left as its owner made it.
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  rmSync(privateName, { force: true }); // left by a crashed agent that had our pid

  const server = await listenPrivately(privateName);
  try {
    linkSync(privateName, path);
  } catch (error) {
    server.close();
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw conflict(`another agent is already listening on ${path}`);
    throw error;
  } finally {
    rmSync(privateName, { force: true });
  }
  const inode = lstatSync(path).ino;

  const sockets = new Set<Socket>();
  let serverClosed: Promise<void> | null = null;
  const stopAccepting = (): Promise<void> => {
    serverClosed ??= new Promise<void>((resolve) => {
      // Remove the name first so no new client finds it, but only if it is still ours.
      try {
        if (lstatSync(path).ino === inode) unlinkSync(path);
      } catch {
        // Already gone.
      }
      // Its callback runs once the last connection has closed too.
      server.close(() => resolve());
    });
    return serverClosed;
  };
  return {
    server,
    track: (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    },
    stopAccepting: () => void stopAccepting(),
    closed: async (graceMs) => {
      const done = stopAccepting();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}

/**
 * Throws a one-line conflict when a live agent answers on `path` (or it is not a socket).
 * Resolves "stale" for a socket file nobody answers on, "absent" when there is none.
 */
export async function assertNoLiveAgent(path: string): Promise<'absent' | 'stale'> {
  assertFitsSocketName(path);
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
  if (!isSocket) throw conflict(`${path} exists and is not a socket; refusing to replace it`);
  if (await somebodyAnswers(path)) throw conflict(`another agent is already listening on ${path}`);
  return 'stale';
}

function assertFitsSocketName(name: string): void {
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_SOCKET_NAME) throw badInput(`socket path too long: ${name} is ${bytes} bytes, a Unix socket's name holds at most ${MAX_SOCKET_NAME}`);
}

async function removeStaleSocket(path: string): Promise<void> {
  if ((await assertNoLiveAgent(path)) === 'stale') unlinkSync(path);
}

/** Listens on `name`, made while the umask is 0077 so that it is root-only from the first instant. */
async function listenPrivately(name: string): Promise<Server> {
  const server = createServer();
  const previousUmask = process.umask(0o077);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(name, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previousUmask);
  }
  chmodSync(name, 0o600);
  return server;
}

function somebodyAnswers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => {
      probe.destroy();
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') resolve(false);
      else reject(error);
    });
  });
}

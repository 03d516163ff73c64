/*
 * The agent as a long-lived service: JSON-RPC 2.0 on a root-only Unix socket and/or stdin+stdout.
 *
 * A Unix-domain socket is a file-system name for a local stream connection. Whoever can open the
 * file can talk to the agent, and the agent can create namespaces, mounts and cgroups as root, so
 * the socket is made while the umask is 0077 (mode 0600, in a 0700 directory): root-only from the
 * first instant, with no window between bind(2) and a later chmod. A socket file outlives a crashed
 * agent; a stale one is removed, but only after a connection attempt proves nobody answers on it
 * (socket-listener.ts).
 *
 * `--stdio` serves exactly one connection over stdin/stdout: that is how the VS Code extension
 * reaches the agent through one SSH channel (`ssh vm containers-lab serve --stdio`). Logs then go
 * to stderr only, because stdout carries the protocol.
 *
 * Containers outlive connections: when a client goes away only what it started for itself ends
 * (its exec sessions and log follows). Lifecycle and link events go to every connection.
 */
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { LabError, quote } from '../errors';
import { RpcErrorCode } from '../protocol';
import type { AgentMethod, AgentMethods, AgentNotifications } from '../protocol';
import type { ContainerRuntime, ExecSession, LogFollower } from '../runtime/api';
import { RpcConnection, RpcError, sendNotification } from './jsonrpc';
import type { RpcTransport } from './jsonrpc';
import { isAgentMethod, validateParams } from './params';
import { publicError } from './public-error';
import { LabService } from '../labs/service';
import { PodService } from '../pods/service';
import { containerLayers, listContainerFiles, readContainerFile } from '../inspect/container-files';

import { defaultSocketPath } from './socket-path';
import { CLOSE_GRACE_MS, listenOnSocket } from './socket-listener';

export { DEFAULT_SOCKET_PATH, defaultSocketPath } from './socket-path';
export { assertNoLiveAgent } from './socket-listener';

export type Log = (line: string) => void;

/** Logs go to stderr: in --stdio mode stdout belongs to the protocol. */
export const logToStderr: Log = (line) => {
  process.stderr.write(`containers-lab serve: ${line}\n`);
};

// --- errors: what the peer is told lives in ./public-error.ts -----------------------------------

export { toRpcError } from './public-error';

// --- the service: one runtime, many connections -------------------------------------------------

/** What the service keeps per connection: things that end when the connection ends. */
interface Peer {
  connection: RpcConnection;
  sessions: Map<string, { session: ExecSession; exited: boolean }>;
  /** Recently exited sessions: closing one of them is not an error (its exit may overtake the close). */
  exited: Set<string>;
  follows: Set<LogFollower>;
}

const REMEMBERED_EXITS = 256;
/** How long an exec whose connection went away has to end after SIGHUP before it is killed. */
export const EXEC_HANGUP_GRACE_MS = 2000;

type Handler<M extends AgentMethod> = (
  params: AgentMethods[M][0],
  peer: Peer,
  /** Aborted when the peer cancels the request ($/cancelRequest) or goes away. */
  signal: AbortSignal,
) => AgentMethods[M][1] | Promise<AgentMethods[M][1]>;

/** Notifications every connection receives; logs and exec output go only to who asked. */
const BROADCAST = ['container.changed', 'container.removed', 'link.changed', 'image.changed', 'node.changed'] as const;
type Broadcast = (typeof BROADCAST)[number] | 'lab.changed' | 'pod.changed' | 'pod.removed';

export class AgentService {
  private readonly peers = new Set<Peer>();
  /** Execs hung up because their connection closed, until each has ended (see hangUp). */
  private readonly hangingUp = new Set<Promise<void>>();
  private readonly unsubscribe: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly runtime: ContainerRuntime,
    private readonly log: Log = logToStderr,
    options: { supervisePods?: boolean; staticPodPath?: string } = {},
  ) {
    for (const name of BROADCAST) this.forward(name, this.runtime.events as unknown as NodeJS.EventEmitter);
    this.forward('lab.changed', this.labs.events as unknown as NodeJS.EventEmitter);
    this.pods = new PodService(() => this.runtime, options.supervisePods === true);
    this.forward('pod.changed', this.pods.events as unknown as NodeJS.EventEmitter);
    this.forward('pod.removed', this.pods.events as unknown as NodeJS.EventEmitter);
    if (options.supervisePods) this.pods.start(options.staticPodPath, this.log);
  }

  /** Pods from Pod YAML (agent/pods/): supervised while the service runs. */
  private readonly pods: PodService;

  get connectionCount(): number {
    return this.peers.size;
  }

  /** Serves one stream (a socket, stdin/stdout, an in-process pair). */
  accept(transport: RpcTransport): RpcConnection {
    const connection = new RpcConnection(transport, { log: this.log });
    if (this.closed) {
      connection.close();
      return connection;
    }
    const peer: Peer = { connection, sessions: new Map(), exited: new Set(), follows: new Set() };
    this.peers.add(peer);
    connection.onRequest((method, params, context) => this.dispatch(method, params, peer, context.signal));
    connection.onClose(() => this.release(peer));
    return connection;
  }

  /** Closes every connection (their exec sessions and follows end; containers keep running). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.labs.close();
    this.pods.close();
    for (const stop of this.unsubscribe) stop();
    for (const peer of [...this.peers]) peer.connection.close();
  }

  private forward<N extends Broadcast>(name: N, events: NodeJS.EventEmitter): void {
    const listener = (params: AgentNotifications[N]): void => {
      for (const peer of this.peers) sendNotification(peer.connection, name, params);
    };
    events.on(name, listener);
    this.unsubscribe.push(() => events.off(name, listener));
  }

  private release(peer: Peer): void {
    this.peers.delete(peer);
    for (const follower of peer.follows) follower.dispose();
    peer.follows.clear();
    for (const entry of peer.sessions.values()) {
      // This runs in the socket's close event: a throw here would end the whole agent.
      try {
        entry.session.close();
        if (!entry.exited) this.hangUp(entry.session);
      } catch (error) {
        this.log(`ending exec session ${entry.session.id} of a closed connection failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    peer.sessions.clear();
  }

  /**
   * Hangs up an exec whose session is gone, the way a closed terminal would (SIGHUP). A process
   * that ignores SIGHUP (nohup, `trap '' HUP`) would run on with nobody to read its output or
   * collect its exit, so it is killed once the grace has passed (see hangUpsSettled).
   */
  private hangUp(session: ExecSession): void {
    session.kill('SIGHUP');
    const settled = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        try {
          session.kill('SIGKILL');
        } catch (error) {
          this.log(`killing exec session ${session.id} (it ignored SIGHUP) failed: ${error instanceof Error ? error.message : String(error)}`);
        }
        resolve();
      }, EXEC_HANGUP_GRACE_MS);
      session.onExit(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.hangingUp.add(settled);
    void settled.then(() => this.hangingUp.delete(settled));
  }

  /** Resolves once every hung-up exec has ended or been killed (the service waits for it at shutdown). */
  hangUpsSettled(): Promise<void> {
    return Promise.all([...this.hangingUp]).then(() => undefined);
  }

  private async dispatch(method: string, params: unknown, peer: Peer, signal: AbortSignal): Promise<unknown> {
    // One catch for all of it: the check of the params can fail like any code, and no failure
    // may reach the peer as JavaScript's own words.
    try {
      // A request that arrives while the service stops is refused: nothing new starts after SIGTERM.
      if (this.closed) throw new RpcError(RpcErrorCode.Conflict, 'the agent is shutting down');
      if (!isAgentMethod(method)) throw new RpcError(RpcErrorCode.MethodNotFound, `method not found: ${quote(method)}`);
      const typed = validateParams(method, params);
      const handler = this.handlers[method] as Handler<typeof method>;
      return await handler(typed, peer, signal);
    } catch (error) {
      throw publicError(error, method, params, this.log);
    }
  }

  /** The labs, whose clock ends attempts on time while the service runs. */
  private readonly labs = new LabService(() => this.runtime, { watchDeadlines: true, pods: () => this.pods.podEngine() });

  private readonly handlers: { [M in AgentMethod]: Handler<M> } = {
    ...this.labs.handlers,
    'pod.apply': (params) => this.pods.handlers['pod.apply'](params),
    'pod.delete': (params) => this.pods.handlers['pod.delete'](params),
    'pod.list': (params) => this.pods.handlers['pod.list'](params),
    'pod.get': (params) => this.pods.handlers['pod.get'](params),
    'pod.resolve': (params) => this.pods.handlers['pod.resolve'](params),
    'agent.info': () => this.runtime.info(),
    'container.run': (options) => this.runtime.run(options),
    'container.start': ({ id }) => this.runtime.start(id),
    'container.list': () => this.runtime.list(),
    'container.inspect': ({ id }) => this.runtime.inspect(id),
    'container.stop': ({ id, timeoutSeconds }) => this.runtime.stop(id, timeoutSeconds),
    'container.pause': ({ id }) => this.runtime.pause(id),
    'container.resume': ({ id }) => this.runtime.resume(id),
    'container.remove': async ({ id, force }) => {
      const canonical = this.runtime.resolveId(id);
      await this.runtime.remove(id, force);
      return { id: canonical };
    },
    'container.logs': ({ id, follow }, peer) => this.logs(id, follow === true, peer),
    'container.pathLayer': ({ id, path }) => this.runtime.pathLayer(id, path),
    'container.layers': ({ id }) => containerLayers(this.runtime.layerStack(id)),
    'container.files.list': ({ id, path }) => listContainerFiles(this.runtime.layerStack(id), path),
    'container.files.read': ({ id, path, offset, length }) => readContainerFile(this.runtime.layerStack(id), path, offset, length),
    'exec.start': (options, peer) => this.startExec(options, peer),
    'exec.input': ({ session, data }, peer) => {
      this.session(peer, session).write(Buffer.from(data, 'base64'));
      return {};
    },
    'exec.resize': ({ session, cols, rows }, peer) => {
      this.session(peer, session).resize(cols, rows);
      return {};
    },
    'exec.close': ({ session }, peer) => {
      if (!peer.exited.has(session)) this.session(peer, session).close();
      return {};
    },
    'host.snapshot': () => this.runtime.snapshot(),
    'host.containers': ({ roots }) => this.runtime.hostContainers(roots),
    // A pull's progress goes to the connection that asked for it, as it happens; cancelling the request stops the pull.
    'image.pull': (params, peer, signal) => this.runtime.images.pull(params, (event) => {
      sendNotification(peer.connection, 'image.progress', { reference: params.reference, event });
    }, signal),
    'image.list': () => this.runtime.images.list(),
    'image.inspect': ({ reference }) => this.runtime.images.inspect(reference),
    'image.remove': ({ reference, ifUnused }) => this.runtime.images.remove(reference, ifUnused === true),
    'image.prune': () => this.runtime.images.prune(),
    'image.import': ({ path, name }) => this.runtime.images.import(path, name),
    'node.list': () => this.runtime.nodes.list(),
    'node.add': (peer) => this.runtime.nodes.add(peer),
    'node.remove': ({ name }) => this.runtime.nodes.remove(name),
    'node.mode': ({ mode, vni }) => this.runtime.nodes.mode(mode, vni),
  };

  private logs(id: string, follow: boolean, peer: Peer): { data: string } {
    // Read the file and start following in the same tick, so no write falls between the two.
    const data = this.runtime.logs(id);
    if (follow) {
      const canonical = this.runtime.resolveId(id);
      const follower = this.runtime.followLogs(id, (chunk) => {
        sendNotification(peer.connection, 'container.log', { id: canonical, data: chunk.toString('base64') });
      }, data.length);
      peer.follows.add(follower);
    }
    return { data: data.toString('base64') };
  }

  private startExec(options: AgentMethods['exec.start'][0], peer: Peer): { session: string; pid: number } {
    const session = this.runtime.exec(options);
    const entry = { session, exited: false };
    peer.sessions.set(session.id, entry);
    session.onOutput((stream, data) => {
      sendNotification(peer.connection, 'exec.output', { session: session.id, stream, data: data.toString('base64') });
    });
    session.onExit((code) => {
      entry.exited = true;
      peer.sessions.delete(session.id);
      peer.exited.add(session.id);
      if (peer.exited.size > REMEMBERED_EXITS) peer.exited.delete(peer.exited.values().next().value!);
      sendNotification(peer.connection, 'exec.exit', { session: session.id, code });
    });
    return { session: session.id, pid: session.pid };
  }

  private session(peer: Peer, id: string): ExecSession {
    const entry = peer.sessions.get(id);
    if (!entry && peer.exited.has(id)) throw new RpcError(RpcErrorCode.Conflict, `exec session "${id}" has already exited`);
    if (!entry) throw new RpcError(RpcErrorCode.NotFound, `no exec session "${id}" on this connection`);
    return entry.session;
  }
}

// --- listening ------------------------------------------------------------------------------------

export interface ServeOptions {
  /** Unix socket to listen on; null for none (stdio only). Default: defaultSocketPath(). */
  socketPath?: string | null;
  /** Serve one connection over stdin/stdout (or the given pair, for tests). */
  stdio?: boolean | { input: Readable; output: Writable };
  log?: Log;
  /** Run the Pod YAML files of this directory as static pods (agent/pods/static-pods.ts). */
  staticPodPath?: string;
  /** Close gracefully on SIGTERM/SIGINT (default true). */
  handleSignals?: boolean;
}

export interface AgentServer {
  readonly service: AgentService;
  readonly socketPath: string | null;
  /** Resolves once the server has closed (signal, stdio peer gone, or close()). */
  readonly done: Promise<void>;
  /** Stops listening, removes the socket, closes connections and the runtime (containers keep running). */
  close(): Promise<void>;
}

export async function serve(runtime: ContainerRuntime, options: ServeOptions = {}): Promise<AgentServer> {
  const log = options.log ?? logToStderr;
  const socketPath = options.socketPath === undefined ? defaultSocketPath() : options.socketPath;
  if (socketPath === null && !options.stdio) throw new LabError('bad-input', 'nothing to serve: give a socket path or --stdio');

  const listener = socketPath === null ? null : await listenOnSocket(socketPath);
  const service = new AgentService(runtime, log, { supervisePods: true, ...(options.staticPodPath !== undefined ? { staticPodPath: options.staticPodPath } : {}) });
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let closing: Promise<void> | null = null;
  const signals: NodeJS.Signals[] = options.handleSignals === false ? [] : ['SIGTERM', 'SIGINT'];
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: shutting down (containers keep running)`);
    void close();
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const signal of signals) process.off(signal, onSignal);
      // The order matters. Stop accepting first (the socket's name goes), then end every
      // connection: a listening server's close() waits for its connections to end, and a client
      // that stays connected (VS Code does) would otherwise keep a "stopped" agent serving.
      listener?.stopAccepting();
      service.close();
      if (listener) await listener.closed(CLOSE_GRACE_MS);
      // The execs of the closed connections end (or are killed) while the runtime still watches them.
      await service.hangUpsSettled();
      runtime.close();
      log('stopped (containers keep running; the next serve adopts them)');
      resolveDone();
    })();
    return closing;
  };

  if (listener) {
    listener.server.on('connection', (socket: Socket) => {
      socket.on('error', () => {}); // The RpcConnection reports it; keep the process alive.
      listener.track(socket);
      service.accept(socket);
    });
    log(`listening on ${socketPath}`);
  }
  if (options.stdio) {
    const pair = options.stdio === true ? { input: process.stdin, output: process.stdout } : options.stdio;
    const connection = service.accept(pair);
    // With stdio alone, the peer going away is the end of the service.
    if (!listener) connection.onClose(() => void close());
  }
  for (const signal of signals) process.on(signal, onSignal);
  return { service, socketPath, done, close };
}

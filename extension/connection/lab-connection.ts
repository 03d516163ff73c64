/*
 * The extension's one connection to a lab: target → SSH (or the local socket) → agent bootstrap →
 * JSON-RPC → `agent.info`, and then keeping it alive.
 *
 * Containers belong to the agent on the lab host, not to this connection: when the link drops
 * (VM suspended, Wi-Fi gone, sshd restarted) nothing is lost there. So a drop is not an error the
 * user has to handle: the state goes to "reconnecting", attempts follow with a growing pause
 * (0.5 s doubling up to 10 s, until disconnect()), and on success the state is "connected" again
 * — views re-fetch everything then, and subscribe on the new client. What does end with a link
 * are the things tied to it on the agent's side: exec sessions (their terminals see an exit) and
 * log follows.
 *
 * A first connect that fails is tried again the same way (state "failed", its detail saying when
 * the next try comes), so a window opened while the lab host is down — a reload after `scripts/lab
 * stop` — connects once the agent is back. What waiting cannot fix (a changed or untrusted host
 * key, a sudo that wants a password; ./retry.ts) is not retried: it stays "failed".
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import packageJson from '../../package.json';
import type { AgentInfo, AgentMethod, AgentMethods } from '../../agent/protocol';
import { clientFor, connectSocket } from '../../agent/service/client';
import type { AgentClient } from '../../agent/service/client';
import { RpcConnection } from '../../agent/service/jsonrpc';
import type { RequestOptions } from '../../agent/service/jsonrpc';
import { DEFAULT_SOCKET_PATH } from '../../agent/service/socket-path';
import { openAgentStream } from './agent-stream';
import type { AgentTransport, TransportChoice } from './agent-stream';
import {
  agentBuildId,
  agentLogTail,
  bundleFiles,
  checkHostCanRunAgent,
  probeHost,
  resolveRemoteAgent,
  startService,
  uploadBundle,
  DEFAULT_INSTALL_ROOT,
} from './bootstrap';
import type { BootstrapOptions, RemoteAgent } from './bootstrap';
import { bundleManifest, stopAgentsRunningFrom } from './bundle-integrity';
import type { HostKeyStore } from './host-keys';
import { openSshLabShell } from './host-terminal';
import { Backoff, isWorthRetrying, retryNote } from './retry';
import { openSsh } from './ssh';
import type { SshOptions, SshSession } from './ssh';
import { describeTarget } from './targets';
import type { ConnectionEvents, ConnectionState, HostKeyPrompt, HostTerminal, HostTerminalOptions, LabConnection, LabShellSetup, LabTarget } from './types';

export interface LabConnectionOptions {
  /** The bundled agent on this machine (dist/agent), uploaded when the host lacks this build. */
  bundleDir: string;
  hostKeys: HostKeyStore;
  promptHostKey: HostKeyPrompt;
  /** Install root, socket, state root and service manager on the lab host. */
  remote?: Omit<BootstrapOptions, 'bundleDir'>;
  /** streamlocal (root only), dial-stdio, or auto: streamlocal first for root, then dial-stdio. */
  transport?: TransportChoice;
  ssh?: Pick<SshOptions, 'connectTimeoutMs' | 'keepaliveIntervalMs' | 'passphrase'>;
  /** Applied to every request that sets no timeout of its own (default 60 s). */
  requestTimeoutMs?: number;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
}

/** How the current link reaches the agent. */
export type LinkVia = AgentTransport | 'local';

interface Link {
  ssh: SshSession | null;
  rpc: RpcConnection;
  client: AgentClient;
  info: AgentInfo;
  via: LinkVia;
  remote: RemoteAgent | null;
}

/** Generous: in a software-emulated VM under load, starting Node through sudo alone takes seconds. */
const INFO_TIMEOUT_MS = 45_000;

export class ReconnectingLabConnection implements LabConnection {
  private readonly events = new EventEmitter();
  private currentTarget: LabTarget | null = null;
  private currentState: ConnectionState = 'disconnected';
  private link: Link | null = null;
  /** Bumped by connect() and disconnect(): an attempt or retry loop of an older generation gives up. */
  private generation = 0;
  private cancelWait: (() => void) | null = null;

  constructor(private readonly options: LabConnectionOptions) {}

  get target(): LabTarget | null {
    return this.currentTarget;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get client(): AgentClient | null {
    return this.link?.client ?? null;
  }

  get info(): AgentInfo | null {
    return this.link?.info ?? null;
  }

  /** How the agent is reached right now (null while not connected). */
  get via(): LinkVia | null {
    return this.link?.via ?? null;
  }

  async openHostTerminal(window: { cols: number; rows: number }, options: HostTerminalOptions = {}): Promise<HostTerminal | null> {
    const link = this.link;
    if (!link?.ssh || link.ssh.closed || !link.remote) return null;
    // The lab's commands (containers-lab, nsenter, ip) need root; a Vagrant user has password-less sudo.
    return openSshLabShell(link.ssh, link.remote, this.labShellSetup(options), window);
  }

  /** Where a lab shell starts and which agent its `containers-lab` reaches (./host-terminal.ts). */
  labShellSetup(options: HostTerminalOptions = {}): LabShellSetup {
    const link = this.link;
    const socketPath = link?.remote?.socketPath ?? this.currentTarget?.socketPath ?? DEFAULT_SOCKET_PATH;
    return { socketPath, ...(link?.info.stateRoot ? { stateRoot: link.info.stateRoot } : {}), ...(options.cwd ? { cwd: options.cwd } : {}) };
  }

  /** What bootstrap found on the lab host (SSH targets). */
  get remoteAgent(): RemoteAgent | null {
    return this.link?.remote ?? null;
  }

  on<E extends keyof ConnectionEvents>(event: E, listener: (...args: ConnectionEvents[E]) => void): () => void {
    const untyped = listener as (...args: unknown[]) => void;
    this.events.on(event, untyped);
    return () => this.events.off(event, untyped);
  }

  async connect(target: LabTarget): Promise<void> {
    await this.disconnect(false);
    const generation = ++this.generation;
    this.currentTarget = target;
    this.setState('connecting', target.label);
    this.log(`connecting to ${target.label}`);
    try {
      const link = await this.establish(target, generation, 'initial');
      this.install(link, generation);
    } catch (error) {
      if (generation === this.generation) {
        if (isWorthRetrying(error)) void this.retryLoop(generation, 'failed', messageOf(error));
        else this.setState('failed', messageOf(error));
      }
      throw error;
    }
  }

  async disconnect(announce = true): Promise<void> {
    this.generation++;
    this.cancelWait?.();
    const link = this.link;
    this.link = null;
    if (link) this.closeLink(link);
    if (announce && this.currentState !== 'disconnected') {
      this.log(`disconnected from ${this.currentTarget?.label ?? 'the lab'}`);
      this.setState('disconnected', undefined);
    }
  }

  // --- establishing a link ----------------------------------------------------------------------------

  private async establish(target: LabTarget, generation: number, attempt: 'initial' | 'reconnect'): Promise<Link> {
    const link = target.kind === 'local' ? await this.establishLocal(target) : await this.establishSsh(target, generation, attempt);
    if (generation !== this.generation) {
      this.closeLink(link);
      throw new Error('connection attempt superseded');
    }
    return link;
  }

  private async establishLocal(target: LabTarget): Promise<Link> {
    const socketPath = target.socketPath ?? DEFAULT_SOCKET_PATH;
    const stream: Duplex = await connectSocket(socketPath).catch((error: NodeJS.ErrnoException) => {
      const hint = error.code === 'EACCES' ? 'the socket is root-only: VS Code must run as root' : 'start it with scripts/lab, or as root: containers-lab serve';
      throw new Error(`no agent answers on ${socketPath} (${error.code ?? error.message}): ${hint}`);
    });
    const { rpc, client, info } = await this.attach(stream);
    this.log(`connected to the agent on ${socketPath} (agent ${info.version}, ${info.hostname})`);
    return { ssh: null, rpc, client, info, via: 'local', remote: null };
  }

  private async establishSsh(target: LabTarget, generation: number, attempt: 'initial' | 'reconnect'): Promise<Link> {
    const ssh = await openSsh(target, {
      ...this.options.ssh,
      hostKeys: this.options.hostKeys,
      promptHostKey: this.options.promptHostKey,
      log: (line) => this.log(line),
    });
    try {
      this.log(`SSH connected to ${describeTarget({ ...target, username: ssh.username })}`);
      if (attempt === 'initial' && generation === this.generation) this.setState('bootstrapping', 'checking the agent on the lab host');
      const remote = await this.bootstrap(ssh);
      if (remote.replaced) {
        // Whatever runs from the files just replaced is not known to be this build: end it, so
        // the agent that answers is started from the verified copy.
        const stopped = await stopAgentsRunningFrom(ssh, remote.agentPath, remote.isRoot);
        if (stopped.length > 0) this.log(`stopped the agent processes running from the replaced files (pids ${stopped.join(', ')})`);
      }
      const found = await this.tryAgent(ssh, remote);
      if (found) return { ssh, ...found, remote };
      if (generation !== this.generation) throw new Error('connection attempt superseded');
      if (attempt === 'initial') this.setState('bootstrapping', 'starting the agent service');
      const whereToLook = await startService(ssh, remote, this.remoteOptions(), (line) => this.log(line));
      const deadline = Date.now() + (this.options.remote?.startTimeoutMs ?? 20_000);
      while (Date.now() < deadline && generation === this.generation) {
        await delay(200);
        const started = await this.tryAgent(ssh, remote);
        if (started) return { ssh, ...started, remote };
      }
      const tail = await agentLogTail(ssh, remote, whereToLook);
      throw new Error(`the agent did not answer on ${remote.socketPath} after starting it (see ${whereToLook}${tail ? `: ${tail}` : ''})`);
    } catch (error) {
      ssh.close();
      throw error;
    }
  }

  private remoteOptions(): BootstrapOptions {
    return { ...this.options.remote, bundleDir: this.options.bundleDir };
  }

  /** Probe, check, and upload this build when the host lacks it or its files differ from ours. */
  private async bootstrap(ssh: SshSession): Promise<RemoteAgent> {
    const options = this.remoteOptions();
    const build = agentBuildId(options.bundleDir);
    const manifest = bundleManifest(options.bundleDir, bundleFiles(options.bundleDir).files);
    const facts = await probeHost(ssh, options.installRoot ?? DEFAULT_INSTALL_ROOT, build, manifest);
    checkHostCanRunAgent(facts, options.bundleDir);
    let remote = resolveRemoteAgent(facts, options, build, false);
    if (!facts.installed) {
      const replace = facts.installProblem !== undefined;
      this.setStateIfInitial('bootstrapping', `uploading the agent ${build}`);
      this.log(replace
        ? `the agent files in ${remote.installDir} do not match this extension's copy (${facts.installProblem}): uploading them again`
        : `the lab host has no agent ${build}: uploading it to ${remote.installDir}`);
      await uploadBundle(ssh, options.bundleDir, remote.installDir, (line) => this.log(line), { manifest, replace });
      remote = { ...remote, uploaded: true, replaced: replace };
    }
    return remote;
  }

  /** Opens a stream to the socket and asks agent.info; null when no agent answers there. */
  private async tryAgent(ssh: SshSession, remote: RemoteAgent): Promise<Omit<Link, 'ssh' | 'remote'> | null> {
    let opened;
    try {
      opened = await openAgentStream(ssh, {
        socketPath: remote.socketPath,
        agentPath: remote.agentPath,
        nodePath: remote.nodePath,
        isRoot: remote.isRoot,
        transport: this.options.transport ?? 'auto',
        log: (line) => this.log(line),
      });
    } catch (error) {
      if (ssh.closed) throw error;
      this.log(`no agent on ${remote.socketPath} yet (${messageOf(error)})`);
      return null;
    }
    try {
      const attached = await this.attach(opened.stream);
      this.log(`connected to the agent ${attached.info.version} on ${attached.info.hostname} via ${opened.via}`);
      if (attached.info.version !== packageJson.version) {
        this.log(`note: the running agent is version ${attached.info.version}, this extension carries ${packageJson.version}; restart the agent service to use the new one`);
      }
      return { ...attached, via: opened.via };
    } catch (error) {
      if (ssh.closed) throw error;
      const message = messageOf(error);
      // dial-stdio reports a refused sudo on its stderr: that will not get better by waiting.
      if (/passwordless sudo/.test(message)) throw error;
      this.log(`no agent on ${remote.socketPath} yet (${message})`);
      return null;
    }
  }

  /** JSON-RPC over the stream, every notification forwarded, and the agent's own description. */
  private async attach(stream: Duplex): Promise<Pick<Link, 'rpc' | 'client' | 'info'>> {
    const rpc = new RpcConnection(stream, { log: (line) => this.log(`agent protocol: ${line}`) });
    try {
      const info = (await rpc.request('agent.info', {}, { timeoutMs: INFO_TIMEOUT_MS })) as AgentInfo;
      const client = withDefaultTimeout(clientFor(rpc), this.options.requestTimeoutMs ?? 60_000);
      return { rpc, client, info };
    } catch (error) {
      rpc.close();
      stream.destroy();
      throw error;
    }
  }

  // --- living with a link ------------------------------------------------------------------------------

  private install(link: Link, generation: number): void {
    this.link = link;
    link.rpc.onNotification((method, params) => this.events.emit('notification', method, params));
    const lost = (reason: string): void => this.onLinkLost(link, generation, reason);
    link.rpc.onClose((reason) => lost(reason.message));
    link.ssh?.onClose((reason) => lost(`SSH ${reason}`));
    const how = link.via === 'local' ? 'local socket' : link.via;
    this.setState('connected', `${this.currentTarget?.label ?? ''} · agent ${link.info.version} via ${how}`);
  }

  private onLinkLost(link: Link, generation: number, reason: string): void {
    if (this.link !== link || generation !== this.generation) return;
    this.link = null;
    this.closeLink(link);
    this.log(`lost the connection to the agent (${reason}); reconnecting`);
    void this.retryLoop(generation, 'reconnecting', reason);
  }

  /**
   * Tries the target again, with growing pauses, until it connects, fails for good, or connect()
   * or disconnect() moves on. `state` is what the views show meanwhile: "reconnecting" after a
   * link was lost, "failed" (with when the next try comes) after a first connect failed.
   */
  private async retryLoop(generation: number, state: 'reconnecting' | 'failed', reason: string): Promise<void> {
    const target = this.currentTarget;
    if (!target) return;
    const pauses = new Backoff(this.options.reconnect?.initialDelayMs, this.options.reconnect?.maxDelayMs);
    let pause = pauses.next();
    this.setState(state, state === 'failed' ? `${reason}; ${retryNote(pause)}` : reason);
    const what = state === 'failed' ? 'connect' : 'reconnect';
    for (let attempt = 1; generation === this.generation; attempt++) {
      if (!(await this.wait(pause))) return;
      try {
        const link = await this.establish(target, generation, 'reconnect');
        this.log(`${what === 'connect' ? 'connected' : 'reconnected'} after ${attempt} more attempt${attempt === 1 ? '' : 's'}`);
        this.install(link, generation);
        return;
      } catch (error) {
        if (generation !== this.generation) return;
        if (!isWorthRetrying(error)) {
          this.log(messageOf(error));
          this.setState('failed', messageOf(error));
          return;
        }
        pause = pauses.next();
        this.log(`${what} attempt ${attempt} failed: ${messageOf(error)}; next in ${(pause / 1000).toFixed(1)} s`);
        this.setState(state, `${messageOf(error)}; ${retryNote(pause)}`);
      }
    }
  }

  /** Resolves true after `ms`, or false at once when disconnect() or connect() cancels it. */
  private wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.cancelWait = null;
        resolve(true);
      }, ms);
      this.cancelWait = () => {
        clearTimeout(timer);
        this.cancelWait = null;
        resolve(false);
      };
    });
  }

  private closeLink(link: Link): void {
    link.rpc.close();
    link.ssh?.close();
  }

  private setStateIfInitial(state: ConnectionState, detail: string): void {
    if (this.currentState === 'connecting' || this.currentState === 'bootstrapping') this.setState(state, detail);
    else this.log(detail);
  }

  private setState(state: ConnectionState, detail: string | undefined): void {
    this.currentState = state;
    this.events.emit('state', state, detail);
  }

  private log(line: string): void {
    this.events.emit('log', line);
  }
}

/** The client with a default timeout on every call that brings none (stop waits for its grace period). */
function withDefaultTimeout(client: AgentClient, timeoutMs: number): AgentClient {
  const timeoutFor = <M extends AgentMethod>(method: M, params: AgentMethods[M][0]): number => {
    const grace = method === 'container.stop' ? (params as AgentMethods['container.stop'][0]).timeoutSeconds : undefined;
    return grace === undefined ? timeoutMs : Math.max(timeoutMs, grace * 1000 + 10_000);
  };
  return {
    call: <M extends AgentMethod>(method: M, params: AgentMethods[M][0], options?: RequestOptions) =>
      client.call(method, params, { timeoutMs: timeoutFor(method, params), ...options }),
    on: (notification, listener) => client.on(notification, listener),
    onClose: (listener) => client.onClose(listener),
    get closed() {
      return client.closed;
    },
    close: () => client.close(),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

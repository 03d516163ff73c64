/*
 * One SSH connection to a lab host (npm `ssh2`, pure JavaScript), with the host key checked
 * against its pin before any credential is sent, and the three things the rest of the connection
 * layer needs from it: run a command (exec channel), open a file-transfer session (SFTP), and open
 * a stream to a Unix socket on the host (OpenSSH's direct-streamlocal channel).
 *
 * An SSH connection multiplexes many "channels" over one TCP connection: each exec, each SFTP
 * session, each forwarded socket is its own channel with its own flow control, so the agent's
 * JSON-RPC stream and a file upload can share the link without blocking each other.
 */
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client, utils } from 'ssh2';
import type { ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import { pinKey, sha256Fingerprint, verifyHostKey } from './host-keys';
import type { HostKeyStore } from './host-keys';
import type { HostKeyPrompt, LabTarget } from './types';

export interface SshOptions {
  hostKeys: HostKeyStore;
  promptHostKey: HostKeyPrompt;
  /** Connection + handshake + authentication, not counting time spent in the host-key prompt. */
  connectTimeoutMs?: number;
  /** SSH keepalives notice a silently dead link (default: every 5 s, 3 missed = dead). */
  keepaliveIntervalMs?: number;
  /** Passphrase for an encrypted private key (the UI can read it from SecretStorage). */
  passphrase?: (keyPath: string) => Promise<string | undefined>;
  log?: (line: string) => void;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface SshSession {
  readonly target: LabTarget;
  readonly hostPort: string;
  readonly username: string;
  readonly fingerprint: string;
  /** Runs a shell command to its end. */
  exec(command: string, options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Starts a command and hands over its channel (stdin/stdout; `.stderr` separately). */
  execChannel(command: string): Promise<ClientChannel>;
  /**
   * An interactive terminal on the host: the login shell on a pty of the given size — or, when
   * `command` is given, that command on a pty (e.g. `sudo -i` for a user that is not root).
   */
  terminal(window: TerminalWindow, command?: string): Promise<ClientChannel>;
  /** A channel connected to a Unix socket on the host (needs AllowStreamLocalForwarding). */
  openUnixSocket(path: string): Promise<ClientChannel>;
  sftp(): Promise<SFTPWrapper>;
  /** Called once when the connection ends, whatever the reason. */
  onClose(listener: (reason: string) => void): void;
  readonly closed: boolean;
  close(): void;
}

export interface TerminalWindow {
  cols: number;
  rows: number;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** The private key to offer: the target's, else the first default key that exists. */
async function loadPrivateKey(target: LabTarget, options: SshOptions): Promise<Pick<ConnectConfig, 'privateKey' | 'passphrase'>> {
  const candidates = target.privateKeyPath ? [target.privateKeyPath] : DEFAULT_KEYS.map((name) => join(homedir(), '.ssh', name));
  for (const path of candidates) {
    let privateKey: Buffer;
    try {
      privateKey = await readFile(path);
    } catch (error) {
      if (target.privateKeyPath) throw new Error(`cannot read the private key ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      continue;
    }
    const parsed = utils.parseKey(privateKey);
    if (!(parsed instanceof Error)) return { privateKey };
    if (!/passphrase/i.test(parsed.message)) throw new Error(`cannot use the private key ${path}: ${parsed.message}`);
    const passphrase = await options.passphrase?.(path);
    if (passphrase === undefined) throw new Error(`the private key ${path} is protected by a passphrase: use an unencrypted key for the lab or load it into ssh-agent`);
    return { privateKey, passphrase };
  }
  return {};
}

export async function openSsh(target: LabTarget, options: SshOptions): Promise<SshSession> {
  if (!target.host) throw new Error(`target "${target.label}" has no host`);
  const host = target.host;
  const port = target.port ?? 22;
  const username = target.username ?? userInfo().username;
  const hostPort = pinKey(host, port);
  const log = options.log ?? (() => {});
  const timeoutMs = options.connectTimeoutMs ?? 20_000;
  const keyConfig = await loadPrivateKey(target, options);
  const agentSocket = process.env.SSH_AUTH_SOCK;
  if (!keyConfig.privateKey && !agentSocket) {
    throw new Error(`no SSH key for ${username}@${hostPort}: set containersLab.ssh.privateKeyPath (or run an ssh-agent)`);
  }

  const client = new Client();
  let fingerprint = '';
  let hostKeyError: Error | null = null;

  const session = await new Promise<SshSession>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const armTimer = (): void => {
      timer = setTimeout(() => fail(new Error(`no SSH connection to ${hostPort} within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    };
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      client.destroy();
      reject(error);
    };
    armTimer();
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // JSON-RPC sends small messages both ways: with Nagle's algorithm a request waits for the
      // previous segment's ACK, which the peer may delay by up to 40 ms.
      client.setNoDelay(true);
      resolve(makeSession(client, { target, hostPort, username, fingerprint }));
    });
    client.on('error', (error: Error & { level?: string }) => {
      if (hostKeyError) fail(hostKeyError);
      else if (error.level === 'client-authentication') fail(new Error(`SSH authentication as "${username}" on ${hostPort} failed: check the user and its key (${target.privateKeyPath ?? 'default keys / ssh-agent'})`));
      else fail(new Error(`SSH connection to ${hostPort} failed: ${error.message}`));
    });
    client.once('close', () => fail(hostKeyError ?? new Error(`SSH connection to ${hostPort} closed during the handshake`)));

    const config: ConnectConfig = {
      host,
      port,
      username,
      ...keyConfig,
      ...(agentSocket ? { agent: agentSocket } : {}),
      readyTimeout: 0, // our own timer, paused while the user looks at a host-key prompt
      keepaliveInterval: options.keepaliveIntervalMs ?? 5_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        fingerprint = sha256Fingerprint(key);
        clearTimeout(timer);
        verifyHostKey(options.hostKeys, options.promptHostKey, target, hostPort, fingerprint).then(
          (outcome) => {
            log(outcome === 'trusted-now' ? `host key of ${hostPort} trusted and pinned: ${fingerprint}` : `host key of ${hostPort} matches its pin (${fingerprint})`);
            armTimer();
            verify(true);
          },
          (error: Error) => {
            hostKeyError = error;
            verify(false);
            fail(error);
          },
        );
      },
    };
    client.connect(config);
  });
  return session;
}

function makeSession(client: Client, identity: { target: LabTarget; hostPort: string; username: string; fingerprint: string }): SshSession {
  let closed = false;
  let closeReason = 'connection closed';
  const listeners: ((reason: string) => void)[] = [];
  client.on('error', (error: Error) => (closeReason = error.message));
  client.on('close', () => {
    if (closed) return;
    closed = true;
    for (const listener of listeners.splice(0)) listener(closeReason);
  });

  const execChannel = (command: string): Promise<ClientChannel> =>
    new Promise((resolve, reject) => {
      try {
        client.exec(command, (error, channel) => (error ? reject(error) : resolve(channel)));
      } catch (error) {
        reject(error as Error);
      }
    });

  return {
    ...identity,
    get closed() {
      return closed;
    },
    execChannel,
    exec: async (command, options = {}) => {
      const channel = await execChannel(command);
      return new Promise<ExecResult>((resolve, reject) => {
        let stdout = '';
        let stderr = '';
        let code: number | null = null;
        let signal: string | null = null;
        const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
          channel.close();
          reject(new Error(`remote command gave no answer within ${options.timeoutMs} ms: ${command.slice(0, 80)}`));
        }, options.timeoutMs);
        channel.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        channel.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        channel.on('exit', (exitCode: number | null, exitSignal?: string) => {
          code = exitCode;
          signal = exitSignal ?? null;
        });
        channel.on('close', () => {
          clearTimeout(timer);
          resolve({ code, signal, stdout, stderr });
        });
        channel.end();
      });
    },
    terminal: (window, command) =>
      new Promise((resolve, reject) => {
        const pty = { term: 'xterm-256color', cols: window.cols, rows: window.rows };
        const done = (error: Error | undefined, channel: ClientChannel): void => (error ? reject(error) : resolve(channel));
        try {
          if (command === undefined) client.shell(pty, done);
          else client.exec(command, { pty }, done);
        } catch (error) {
          reject(error as Error);
        }
      }),
    openUnixSocket: (path) =>
      new Promise((resolve, reject) => {
        try {
          client.openssh_forwardOutStreamLocal(path, (error, channel) => (error ? reject(error) : resolve(channel)));
        } catch (error) {
          reject(error as Error);
        }
      }),
    sftp: () =>
      new Promise((resolve, reject) => {
        try {
          client.sftp((error, sftp) => (error ? reject(error) : resolve(sftp)));
        } catch (error) {
          reject(error as Error);
        }
      }),
    onClose: (listener) => {
      if (closed) queueMicrotask(() => listener(closeReason));
      else listeners.push(listener);
    },
    close: () => {
      client.end();
    },
  };
}

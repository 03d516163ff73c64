/*
 * Reaching the agent's Unix socket through SSH, with no TCP port on the lab host.
 *
 * The agent listens only on a root-only Unix socket (/run/containers-lab/agent.sock). Two ways
 * lead there through an SSH connection:
 *
 * 1. direct-streamlocal: OpenSSH's channel type "direct-streamlocal@openssh.com" asks sshd to
 *    connect() to a socket path on our behalf and splice it to the channel (what `ssh -L
 *    local:/remote.sock` uses). sshd does this as the logged-in user, so it only reaches a
 *    root-only socket when that user is root, and only if sshd allows it
 *    (AllowStreamLocalForwarding, on by default).
 * 2. dial-stdio: an exec channel runs `sudo -n node containers-lab.js dial-stdio --socket P`, a
 *    tiny bridge that copies its stdin/stdout to the socket. sudo gives it root; `-n` makes sudo
 *    fail at once instead of waiting for a password nobody can type.
 *
 * Either way the result is one byte stream carrying newline-delimited JSON-RPC.
 */
import type { Duplex } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { shellCommand } from './shell';
import type { SshSession } from './ssh';

/** RFC 4254 §5.1: the server tried and failed to connect (vs. 1 = administratively prohibited). */
const SSH_OPEN_CONNECT_FAILED = 2;

export type AgentTransport = 'streamlocal' | 'dial-stdio';
export type TransportChoice = 'auto' | AgentTransport;

export interface AgentStreamOptions {
  socketPath: string;
  /** Absolute path of containers-lab.js on the host (for dial-stdio). */
  agentPath: string;
  /** Absolute path of node on the host. */
  nodePath: string;
  isRoot: boolean;
  transport: TransportChoice;
  log?: (line: string) => void;
}

export interface AgentStream {
  stream: Duplex;
  via: AgentTransport;
}

export const SUDO_HINT = 'the SSH user needs passwordless sudo (sudo -n) to reach the root-only agent socket: connect as root, or allow it with a line "USER ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/containers-lab';

export async function openAgentStream(ssh: SshSession, options: AgentStreamOptions): Promise<AgentStream> {
  const log = options.log ?? (() => {});
  const tryStreamlocal = options.transport === 'streamlocal' || (options.transport === 'auto' && options.isRoot);
  if (tryStreamlocal) {
    try {
      return { stream: await ssh.openUnixSocket(options.socketPath), via: 'streamlocal' };
    } catch (error) {
      if (options.transport === 'streamlocal') throw new Error(`cannot open ${options.socketPath} through SSH stream-local forwarding: ${(error as Error).message}`);
      // sshd could not connect(): forwarding works, nobody listens (yet). dial-stdio would find the same.
      if ((error as { reason?: unknown }).reason === SSH_OPEN_CONNECT_FAILED) throw new Error(`nothing listens on ${options.socketPath}`);
      log(`stream-local forwarding to ${options.socketPath} refused (${(error as Error).message}); trying dial-stdio`);
    }
  }
  return { stream: await dialStdio(ssh, options), via: 'dial-stdio' };
}

async function dialStdio(ssh: SshSession, options: AgentStreamOptions): Promise<ClientChannel> {
  const bridge = shellCommand([options.nodePath, options.agentPath, 'dial-stdio', '--socket', options.socketPath]);
  const channel = await ssh.execChannel(options.isRoot ? `exec ${bridge}` : `exec sudo -n ${bridge}`);
  let stderr = '';
  channel.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 4096) stderr = stderr.slice(-4096);
  });
  channel.on('exit', (code: number | null) => {
    if (code === 0 || code === null) return;
    const line = stderr.trim().split('\n').slice(-1)[0] ?? '';
    const reason = /password is required|a terminal is required/.test(stderr) ? SUDO_HINT : line || `dial-stdio exited with code ${code}`;
    // Surfaces as the RPC connection's close reason instead of a bare "connection closed".
    if (channel.listenerCount('error') > 0) channel.emit('error', new Error(reason.replace(/^containers-lab: /, '')));
    channel.close();
  });
  return channel;
}

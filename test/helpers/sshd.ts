/*
 * A real Debian OpenSSH server for tests: on 127.0.0.1 at an unused high port, with host and
 * client keys made by ssh-keygen for this run, its own sshd_config, pid file and authorized_keys
 * in a temporary directory, running in the foreground (-D -e) as a child we kill by PID.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/** Makes an unencrypted ed25519 key pair at `path` and `path`.pub. */
export function makeKey(path: string, comment = 'containers-lab-test'): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { stdio: 'ignore' });
}

/** The fingerprint as OpenSSH itself prints it (an independent witness for ours). */
export function opensshFingerprint(publicKeyPath: string): string {
  const line = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyPath], { encoding: 'utf8' });
  return line.split(' ')[1]!;
}

export function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface TestSshd {
  port: number;
  readonly pid: number;
  dir: string;
  clientKey: string;
  /** Every process whose parent is the listening sshd: one per open connection. */
  connectionPids(): number[];
  /** Stops the server and starts it again with another host key, same port. */
  restartWithHostKey(hostKey: string): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

export async function startSshd(dir: string, hostKey: string): Promise<TestSshd> {
  // sshd checks for its privilege-separation directory at start; the package normally makes it.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const clientKey = join(dir, 'client_key');
  if (!existsSync(clientKey)) makeKey(clientKey);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const port = await unusedPort();
  let child: ChildProcess;
  let log = '';

  const launch = async (key: string): Promise<void> => {
    const config = join(dir, 'sshd_config');
    writeFileSync(config, [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${key}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowStreamLocalForwarding yes',
      `Subsystem sftp ${SFTP_SERVER}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n'));
    child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await answersSsh(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sshd did not start: ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid!, 'SIGTERM');
    await exited;
  };

  await launch(hostKey);
  return {
    port,
    get pid() {
      return child.pid!;
    },
    dir,
    clientKey,
    connectionPids: () => childrenOf(child.pid!),
    restartWithHostKey: async (key) => {
      await stop();
      await launch(key);
    },
    output: () => log,
    stop,
  };
}

/** True once something on the port speaks SSH (its banner starts with "SSH-"). */
function answersSsh(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('data', (data: Buffer) => {
      socket.destroy();
      resolve(data.toString().startsWith('SSH-'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export function childrenOf(parent: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name in parentheses, which may itself hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/*
 * Agent bootstrap, the way VS Code Remote-SSH installs its server: the extension carries the agent
 * and puts it on the lab host itself, so "connect" works on a host that has never seen it.
 *
 * On every connect (cheap when all is in place: one exec round trip, then the socket):
 *  1. probe the host in one shell script: node and its version, CPU architecture, uid, $HOME,
 *     whether this exact agent build is installed — every file's sha256 compared with the
 *     extension's own copy (./bundle-integrity.ts), directories tightened to 0700 —, whether
 *     systemd runs the host;
 *  2. refuse early with the fix when Node.js < 18 is missing or the bundle has no native koffi
 *     module for the host's architecture (koffi is how the agent calls the kernel);
 *  3. if this build is missing or its files differ, upload the bundled agent directory over SFTP
 *     into <installRoot>/<version>-<hash>.partial-<random>, then rename it into place (a
 *     mismatching copy moved aside first) and check the hashes once more: a half-finished upload
 *     never looks installed, two windows installing at once cannot mix files, and nothing runs
 *     as root that was not verified;
 *  4. talk to the agent's socket; when nobody answers, start the service — a systemd unit when
 *     the host runs systemd, else a detached background process — and wait for the socket.
 *
 * Install location: <installRoot>/<build>/containers-lab.js, installRoot defaulting to
 * ~/.containers-lab/agent in the SSH user's home (no root needed to install; the same directory
 * Remote-SSH would use for its own server). The build name is the package version plus a hash of
 * the bundled containers-lab.js, so a rebuilt agent is re-uploaded even without a version bump.
 * The service runs as root (through `sudo -n` unless the SSH user is root); its log and pid file
 * are <installRoot>/agent.log and agent.pid (background mode), or the journal (systemd).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import packageJson from '../../package.json';
import { DEFAULT_SOCKET_PATH } from '../../agent/service/socket-path';
import { installCheckScript, judgeInstall, verifyInstall } from './bundle-integrity';
import type { BundleManifest } from './bundle-integrity';
import { asRoot, shellCommand, shellQuote } from './shell';
import type { SshSession } from './ssh';
import { CODE_CACHE_DIRECTORY } from '../../agent/runc/code-cache';

export const DEFAULT_INSTALL_ROOT = '~/.containers-lab/agent';
export const DEFAULT_SERVICE_NAME = 'containers-lab';
export const MINIMUM_NODE_MAJOR = 18;
export const NODE_FIX = `Node.js ${MINIMUM_NODE_MAJOR}+ is required on the lab host: sudo apt-get install nodejs`;

export interface BootstrapOptions {
  /** The bundled agent on this machine: dist/agent (containers-lab.js + node_modules/koffi + @koromix). */
  bundleDir: string;
  /** Where builds are installed on the host; "~/" means the SSH user's home. */
  installRoot?: string;
  /** The agent's socket on the host (default /run/containers-lab/agent.sock). */
  socketPath?: string;
  /** The agent's state root (default: the agent's own, /var/lib/containers-lab). */
  stateRoot?: string;
  /** How to start the service when it is not running (default: systemd if the host runs it). */
  service?: 'auto' | 'systemd' | 'background';
  serviceName?: string;
  /** How long to wait for a freshly started agent's socket (default 20 s). */
  startTimeoutMs?: number;
}

export interface HostFacts {
  nodePath: string | null;
  nodeVersion: string | null;
  /** `uname -m`: x86_64, aarch64, … */
  machine: string;
  uid: number;
  home: string;
  /** This build is installed and every file matches the extension's copy. */
  installed: boolean;
  /** Set when files of this build are there but differ (one line: which); they are uploaded again. */
  installProblem?: string;
  systemd: boolean;
}

/** What bootstrap found or made on the host: enough to reach and to manage the agent. */
export interface RemoteAgent {
  build: string;
  installDir: string;
  agentPath: string;
  nodePath: string;
  isRoot: boolean;
  socketPath: string;
  logPath: string;
  pidPath: string;
  facts: HostFacts;
  uploaded: boolean;
  /** The upload replaced files that did not match: an agent still running from them must be stopped. */
  replaced: boolean;
}

// --- the local bundle -----------------------------------------------------------------------------

/** "<version>-<12 hex of sha256(containers-lab.js)>": the name of this build's install directory. */
export function agentBuildId(bundleDir: string): string {
  const main = join(bundleDir, 'containers-lab.js');
  if (!existsSync(main)) throw new Error(`the agent bundle is missing: ${main} (build it with "npm run build")`);
  const hash = createHash('sha256').update(readFileSync(main)).digest('hex').slice(0, 12);
  return `${packageJson.version}-${hash}`;
}

/** The Node.js name of a `uname -m` architecture, or null when we ship nothing for it. */
export function nodeArch(machine: string): 'x64' | 'arm64' | null {
  if (machine === 'x86_64' || machine === 'amd64') return 'x64';
  if (machine === 'aarch64' || machine === 'arm64') return 'arm64';
  return null;
}

/** Whether the bundle holds koffi's native module for linux-<arch>. */
export function bundleSupportsArch(bundleDir: string, arch: 'x64' | 'arm64'): boolean {
  return [
    join(bundleDir, 'node_modules', '@koromix', `koffi-linux-${arch}`),
    join(bundleDir, 'node_modules', 'koffi', 'build', 'koffi', `linux_${arch}`),
  ].some((path) => existsSync(path));
}

export function bundleFiles(bundleDir: string): { directories: string[]; files: string[] } {
  const directories: string[] = [];
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      // containers-lab-runc's V8 code cache is made where it runs, for that machine's Node: never sent.
      if (entry === CODE_CACHE_DIRECTORY) continue;
      const path = join(dir, entry);
      const stats = statSync(path);
      const rel = relative(bundleDir, path).split('\\').join('/');
      if (stats.isDirectory()) {
        directories.push(rel);
        walk(path);
      } else if (stats.isFile() && !entry.endsWith('.map')) {
        // Source maps stay home: node reads them only with --enable-source-maps.
        files.push(rel);
      }
    }
  };
  walk(bundleDir);
  return { directories, files };
}

// --- probing the host -------------------------------------------------------------------------------

/** A path in a remote shell: "~/x" becomes "$HOME"/'x' (quoted, still expanded). */
function remoteShellPath(path: string): string {
  if (path === '~') return '"$HOME"';
  if (path.startsWith('~/')) return `"$HOME"/${shellQuote(path.slice(2))}`;
  return shellQuote(path);
}

function absoluteRemotePath(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return posix.join(home, path.slice(2));
  return path;
}

export async function probeHost(ssh: SshSession, installRoot: string, build: string, manifest: BundleManifest): Promise<HostFacts> {
  const root = remoteShellPath(installRoot);
  const script = [
    // What a probe changes: the install root exists afterwards (uploads go below it), and it and
    // this build's directories are 0700, its files not writable by group or others.
    `(umask 077; mkdir -p ${root}) 2>/dev/null`,
    `chmod 700 ${root} 2>/dev/null`,
    'NODE=$(command -v node 2>/dev/null)',
    'echo "node=$NODE"',
    '[ -n "$NODE" ] && echo "nodeVersion=$("$NODE" --version 2>/dev/null)"',
    'echo "machine=$(uname -m)"',
    'echo "uid=$(id -u)"',
    'echo "home=$HOME"',
    installCheckScript(`${root}/${shellQuote(build)}`),
    '[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && echo systemd=yes',
    'true',
  ].join('\n');
  const result = await ssh.exec(script, { timeoutMs: 20_000 });
  const facts = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) facts.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  if (!facts.has('uid')) throw new Error(`probing the lab host failed: ${result.stderr.trim() || `exit code ${result.code}`}`);
  const install = judgeInstall(result.stdout, manifest);
  return {
    nodePath: facts.get('node') || null,
    nodeVersion: facts.get('nodeVersion') || null,
    machine: facts.get('machine') ?? 'unknown',
    uid: Number(facts.get('uid')),
    home: facts.get('home') || '/',
    installed: install.state === 'verified',
    ...(install.state === 'mismatch' ? { installProblem: install.problem } : {}),
    systemd: facts.get('systemd') === 'yes',
  };
}

/** Throws the one-line message (with the fix) when the host cannot run this bundle. */
export function checkHostCanRunAgent(facts: HostFacts, bundleDir: string): void {
  const major = facts.nodeVersion ? Number(/^v?(\d+)/.exec(facts.nodeVersion)?.[1] ?? NaN) : NaN;
  if (!facts.nodePath || !(major >= MINIMUM_NODE_MAJOR)) {
    const found = facts.nodePath ? `found ${facts.nodeVersion ?? 'an unknown version'} at ${facts.nodePath}` : 'no "node" on PATH';
    throw new Error(`${NODE_FIX} (${found})`);
  }
  const arch = nodeArch(facts.machine);
  if (!arch) throw new Error(`the lab host's architecture "${facts.machine}" is not supported: the agent runs on x86_64 and aarch64 Linux`);
  if (!bundleSupportsArch(bundleDir, arch)) {
    throw new Error(`the agent bundle has no koffi native module for linux-${arch} (the lab host is ${facts.machine}): install @koromix/koffi-linux-${arch} and rebuild the bundle with "npm run build"`);
  }
}

// --- uploading ---------------------------------------------------------------------------------------

function sftpCall(action: (done: (error?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => action((error) => (error ? reject(error) : resolve())));
}

export interface UploadOptions {
  /** What the files must hash to once in place. */
  manifest: BundleManifest;
  /** A copy that failed verification is in the way: move it aside (then delete it) before ours goes in. */
  replace?: boolean;
}

/**
 * Uploads the bundle into <installRoot>/<build> (temp name, then rename), directories 0700, files
 * never writable by group or others, and verifies the hashes of what is then in place.
 */
export async function uploadBundle(ssh: SshSession, bundleDir: string, installDir: string, log: (line: string) => void, options: UploadOptions): Promise<void> {
  // The probe made installRoot; everything else goes through the one SFTP session.
  const partial = `${installDir}.partial-${randomBytes(4).toString('hex')}`;
  const { directories, files } = bundleFiles(bundleDir);
  const started = Date.now();
  const sftp: SFTPWrapper = await ssh.sftp();
  let moved = false;
  try {
    const channel = sftp;
    await sftpCall((done) => channel.mkdir(partial, { mode: 0o700 }, done)).catch((error: Error) => {
      throw new Error(`cannot create ${partial} on the lab host: ${error.message}`);
    });
    for (const dir of directories) await sftpCall((done) => channel.mkdir(posix.join(partial, dir), { mode: 0o700 }, done));
    // A few transfers in flight at once: each waits a round trip per chunk, not for bandwidth.
    const queue = [...files];
    const worker = async (): Promise<void> => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        const local = join(bundleDir, file);
        const name = file;
        await sftpCall((done) => channel.fastPut(local, posix.join(partial, name), { mode: statSync(local).mode & 0o755 }, done));
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    if (options.replace) {
      const stale = `${installDir}.stale-${randomBytes(4).toString('hex')}`;
      const aside = await ssh.exec(`if [ -e ${shellQuote(installDir)} ] || [ -L ${shellQuote(installDir)} ]; then mv -f ${shellQuote(installDir)} ${shellQuote(stale)} && rm -rf ${shellQuote(stale)}; fi`, { timeoutMs: 30_000 });
      if (aside.code !== 0) throw new Error(`cannot remove the mismatching agent files in ${installDir}: ${aside.stderr.trim().split('\n').slice(-1)[0] || `exit code ${aside.code}`}`);
    }
    await sftpCall((done) => channel.rename(partial, installDir, done)).then(
      () => (moved = true),
      async (error: Error) => {
        // Someone else finished the same build first: theirs is as good as ours.
        const exists = await ssh.exec(`[ -f ${shellQuote(installDir)}/containers-lab.js ]`);
        if (exists.code !== 0) throw new Error(`cannot move the uploaded agent into ${installDir}: ${error.message}`);
      },
    );
    log(`uploaded the agent (${files.length} files) to ${installDir} in ${Date.now() - started} ms`);
    // What is in place now (ours, or another window's of the same build) is what will run as root.
    const check = await verifyInstall(ssh, installDir, options.manifest);
    if (check.state !== 'verified') {
      throw new Error(`the agent files in ${installDir} do not match this extension's copy after the upload (${check.state === 'mismatch' ? check.problem : 'they are missing'}): not running them`);
    }
  } finally {
    sftp.end();
    // Only a failed or lost upload leaves the partial directory behind.
    if (!moved) await ssh.exec(`rm -rf ${shellQuote(partial)}`, { timeoutMs: 20_000 }).catch(() => undefined);
  }
}

// --- the service ------------------------------------------------------------------------------------

export function resolveRemoteAgent(facts: HostFacts, options: BootstrapOptions, build: string, uploaded: boolean, replaced = false): RemoteAgent {
  const installRoot = absoluteRemotePath(options.installRoot ?? DEFAULT_INSTALL_ROOT, facts.home);
  const installDir = posix.join(installRoot, build);
  return {
    build,
    installDir,
    agentPath: posix.join(installDir, 'containers-lab.js'),
    nodePath: facts.nodePath ?? 'node',
    isRoot: facts.uid === 0,
    socketPath: options.socketPath ?? DEFAULT_SOCKET_PATH,
    logPath: posix.join(installRoot, 'agent.log'),
    pidPath: posix.join(installRoot, 'agent.pid'),
    facts,
    uploaded,
    replaced,
  };
}

function serveWords(agent: RemoteAgent, options: BootstrapOptions): string[] {
  return [agent.nodePath, agent.agentPath, 'serve', '--socket', agent.socketPath, ...(options.stateRoot ? ['--root', options.stateRoot] : [])];
}

/** The unit: containers outlive the agent, so stopping the service must not kill them (KillMode=process). */
export function systemdUnit(agent: RemoteAgent, options: BootstrapOptions): string {
  return [
    '[Unit]',
    'Description=Containers Lab agent (namespaces, overlay, cgroups, veth as a service)',
    'After=network.target',
    '',
    '[Service]',
    `ExecStart=${shellCommand(serveWords(agent, options))}`,
    'KillMode=process',
    'Delegate=yes',
    'Restart=on-failure',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Starts the agent service; returns where to look when it does not come up. */
export async function startService(ssh: SshSession, agent: RemoteAgent, options: BootstrapOptions, log: (line: string) => void): Promise<string> {
  const mode = options.service ?? 'auto';
  const useSystemd = mode === 'systemd' || (mode === 'auto' && agent.facts.systemd);
  const serviceName = options.serviceName ?? DEFAULT_SERVICE_NAME;
  let result;
  let whereToLook: string;
  if (useSystemd) {
    const unitPath = `/etc/systemd/system/${serviceName}.service`;
    const script = [
      `cat > ${shellQuote(unitPath)} <<'CONTAINERS_LAB_UNIT'`,
      systemdUnit(agent, options) + 'CONTAINERS_LAB_UNIT',
      'systemctl daemon-reload',
      `systemctl enable ${shellQuote(serviceName)} >/dev/null 2>&1`,
      `systemctl restart ${shellQuote(serviceName)}`,
    ].join('\n');
    log(`starting the agent with systemd (${unitPath})`);
    result = await ssh.exec(asRoot(script, agent.isRoot), { timeoutMs: 30_000 });
    whereToLook = `journalctl -u ${serviceName}`;
  } else {
    // setsid: its own session, so nothing of the SSH session's end (SIGHUP) reaches it; the pid
    // file lets the user (and tests) stop exactly this process.
    const serve = shellCommand(serveWords(agent, options));
    const script = [
      `mkdir -p ${shellQuote(posix.dirname(agent.logPath))}`,
      'cd /',
      `if command -v setsid >/dev/null 2>&1; then SETSID=setsid; else SETSID=; fi`,
      `nohup $SETSID ${serve} </dev/null >>${shellQuote(agent.logPath)} 2>&1 &`,
      `echo $! > ${shellQuote(agent.pidPath)}`,
    ].join('\n');
    log(`starting the agent in the background (log: ${agent.logPath})`);
    result = await ssh.exec(asRoot(script, agent.isRoot), { timeoutMs: 30_000 });
    whereToLook = agent.logPath;
  }
  if (result.code !== 0) {
    const stderr = result.stderr.trim();
    if (/password is required|a terminal is required/.test(stderr)) {
      throw new Error(`cannot start the agent: the SSH user needs passwordless sudo (sudo -n), or connect as root`);
    }
    throw new Error(`cannot start the agent service: ${stderr.split('\n').slice(-1)[0] || `exit code ${result.code}`}`);
  }
  return whereToLook;
}

/** The last lines of the agent's log, for a "did not start" message. */
export async function agentLogTail(ssh: SshSession, agent: RemoteAgent, whereToLook: string): Promise<string> {
  const command = whereToLook.startsWith('journalctl') ? `${whereToLook} -n 3 --no-pager` : `tail -n 3 ${shellQuote(whereToLook)}`;
  const result = await ssh.exec(asRoot(command, agent.isRoot), { timeoutMs: 10_000 }).catch(() => null);
  return result?.stdout.trim().split('\n').join(' | ') ?? '';
}

/*
 * Where the lab runs: the places a lab host can be found, each turned into a LabTarget.
 *
 * - vagrant: `vagrant ssh-config` in the workspace's vm/ folder prints an OpenSSH config block for
 *   the lab VM (forwarded port on 127.0.0.1, user "vagrant", the VM's generated private key).
 * - settings: containersLab.ssh.host/port/username/privateKeyPath, for any reachable Linux host.
 * - ssh-config: the concrete `Host` entries of ~/.ssh/config, resolved the way OpenSSH does.
 * - local: this machine's agent socket, when the extension host itself runs as root on the lab host.
 *
 * OpenSSH config in brief: a file of `Keyword value` (or `Keyword=value`) lines, grouped by `Host
 * pattern…` (and `Match`) lines. For a given alias every block whose patterns match it applies, in
 * file order, and the FIRST value seen for a keyword wins — so `Host *` defaults go at the end.
 * Patterns use `*` and `?`; `!pattern` excludes. Only aliases without wildcards are offered as
 * targets; wildcard blocks still contribute their settings.
 */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SOCKET_PATH } from '../../agent/service/socket-path';
import type { LabTarget } from './types';

// --- OpenSSH config text --------------------------------------------------------------------------

interface ConfigBlock {
  /** Patterns of the `Host` line; null for a `Match` block, which we do not evaluate (never applies). */
  patterns: string[] | null;
  /** Lower-cased keyword → values in file order. */
  entries: [string, string][];
}

/** Splits a config line into its keyword and value: `Port 22`, `Port=22`, `IdentityFile "a b"`. */
function splitConfigLine(line: string): [string, string] | null {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return null;
  const match = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(trimmed);
  if (!match) return [trimmed.toLowerCase(), ''];
  return [match[1]!.toLowerCase(), match[2]!.trim()];
}

/** Words of a value, honouring double quotes: `"/path with space/key"` is one word. */
function words(value: string): string[] {
  const found: string[] = [];
  const pattern = /"([^"]*)"|(\S+)/g;
  for (let match = pattern.exec(value); match; match = pattern.exec(value)) found.push(match[1] ?? match[2]!);
  return found;
}

function parseBlocks(text: string): ConfigBlock[] {
  // Lines before the first Host/Match apply to every host, like a leading `Host *`.
  const blocks: ConfigBlock[] = [{ patterns: ['*'], entries: [] }];
  for (const line of text.split(/\r?\n/)) {
    const split = splitConfigLine(line);
    if (!split) continue;
    const [keyword, value] = split;
    if (keyword === 'host') blocks.push({ patterns: words(value), entries: [] });
    else if (keyword === 'match') blocks.push({ patterns: null, entries: [] });
    else blocks[blocks.length - 1]!.entries.push([keyword, value]);
  }
  return blocks;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function isWildcard(pattern: string): boolean {
  return pattern.startsWith('!') || /[*?]/.test(pattern);
}

/** OpenSSH's rule: some positive pattern matches and no negated one does. */
function blockMatches(patterns: string[], alias: string): boolean {
  let positive = false;
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) {
      if (globToRegExp(pattern.slice(1)).test(alias)) return false;
    } else if (globToRegExp(pattern).test(alias)) {
      positive = true;
    }
  }
  return positive;
}

function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

export interface SshConfigOptions {
  /** Home directory for `~` in IdentityFile (default: os.homedir()). */
  home?: string;
  kind?: 'ssh-config' | 'vagrant';
  /** Makes the label: default "alias (~/.ssh/config)". */
  label?: (alias: string, target: LabTarget) => string;
}

/**
 * Every concrete host alias of an OpenSSH config text, with HostName/Port/User/IdentityFile
 * resolved across all blocks that match it (first value wins). Wildcard-only aliases are skipped.
 */
export function parseSshConfig(text: string, options: SshConfigOptions = {}): LabTarget[] {
  const home = options.home ?? homedir();
  const kind = options.kind ?? 'ssh-config';
  const blocks = parseBlocks(text);
  const aliases: string[] = [];
  for (const block of blocks.slice(1)) {
    for (const pattern of block.patterns ?? []) {
      if (!isWildcard(pattern) && !aliases.includes(pattern)) aliases.push(pattern);
    }
  }
  return aliases.map((alias) => {
    const settings = new Map<string, string>();
    for (const block of blocks) {
      if (!block.patterns || !blockMatches(block.patterns, alias)) continue;
      for (const [keyword, value] of block.entries) if (!settings.has(keyword)) settings.set(keyword, value);
    }
    const hostName = settings.get('hostname');
    const port = settings.get('port');
    const user = settings.get('user');
    const identity = settings.get('identityfile');
    const target: LabTarget = { kind, label: alias, host: hostName ? hostName.replace(/%h/g, alias) : alias };
    if (port !== undefined) {
      const number = Number(port);
      if (Number.isInteger(number) && number > 0 && number < 65536) target.port = number;
    }
    if (user) target.username = words(user)[0]!;
    if (identity) target.privateKeyPath = expandHome(words(identity)[0]!, home);
    target.label = options.label ? options.label(alias, target) : `${alias} (~/.ssh/config)`;
    return target;
  });
}

// --- vagrant --------------------------------------------------------------------------------------

/** The targets in `vagrant ssh-config` output: one per machine ("default" for a one-VM Vagrantfile). */
export function parseVagrantSshConfig(text: string): LabTarget[] {
  return parseSshConfig(text, { kind: 'vagrant', label: (alias) => `lab VM (vagrant: ${alias})` });
}

export interface VagrantOptions {
  /** The vagrant executable (default "vagrant", found on PATH). */
  vagrantBin?: string;
  timeoutMs?: number;
}

/** Runs `vagrant ssh-config` in `vmDir` (the workspace's vm/ folder) and parses its output. */
export function vagrantTargets(vmDir: string, options: VagrantOptions = {}): Promise<LabTarget[]> {
  const vagrantBin = options.vagrantBin ?? 'vagrant';
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(vagrantBin, ['ssh-config'], { cwd: vmDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`"vagrant ssh-config" in ${vmDir} gave no answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT') {
        reject(new Error(
          error.path === vagrantBin || error.syscall?.startsWith('spawn')
            ? `Vagrant is not installed (no "${vagrantBin}" on PATH): install Vagrant, or set containersLab.ssh.host to use another lab host`
            : `cannot run vagrant in ${vmDir}: ${error.message}`,
        ));
      } else {
        reject(new Error(`cannot run vagrant in ${vmDir}: ${error.message}`));
      }
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        const reason = stderr.trim().split('\n').filter((line) => line.trim() !== '').slice(-1)[0] ?? `exit code ${code}`;
        reject(new Error(`"vagrant ssh-config" failed in ${vmDir} (is the VM up? run "vagrant up" there): ${reason.trim()}`));
        return;
      }
      const targets = parseVagrantSshConfig(stdout);
      if (targets.length === 0) reject(new Error(`"vagrant ssh-config" in ${vmDir} printed no host`));
      else resolve(targets);
    });
  });
}

// --- settings, ~/.ssh/config, local -----------------------------------------------------------------

/** containersLab.ssh.* as a plain object (the UI reads the configuration and passes it in). */
export interface SshSettings {
  host?: string;
  port?: number;
  username?: string;
  privateKeyPath?: string;
}

/** The settings target, or null when no host is configured. */
export function settingsTarget(settings: SshSettings, home: string = homedir()): LabTarget | null {
  const host = settings.host?.trim();
  if (!host) return null;
  const port = settings.port ?? 22;
  const target: LabTarget = { kind: 'settings', label: `${settings.username ? `${settings.username}@` : ''}${host}:${port}`, host, port };
  if (settings.username) target.username = settings.username;
  if (settings.privateKeyPath) target.privateKeyPath = expandHome(settings.privateKeyPath, home);
  return target;
}

/** The hosts of a user's ~/.ssh/config (empty when there is none). */
export async function sshConfigTargets(path: string = join(homedir(), '.ssh', 'config')): Promise<LabTarget[]> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  return parseSshConfig(text);
}

/** This machine's agent socket: for an extension host that runs as root on the lab host itself. */
export function localTarget(socketPath: string = DEFAULT_SOCKET_PATH): LabTarget {
  return { kind: 'local', label: 'this machine', socketPath };
}

/** Whether the local target can work here, and why not. */
export function localTargetUsable(): { usable: boolean; reason?: string } {
  if (process.platform !== 'linux') return { usable: false, reason: 'the lab host must be Linux' };
  if (process.getuid?.() !== 0) return { usable: false, reason: "the agent's socket is root-only: VS Code must run as root on the lab host" };
  return { usable: true };
}

/** Whether two targets are the same lab host (a node of a multi-node lab is its own host). */
export function sameLabHost(a: LabTarget, b: LabTarget): boolean {
  if (a.kind === 'local' || b.kind === 'local') return a.kind === b.kind && (a.socketPath ?? DEFAULT_SOCKET_PATH) === (b.socketPath ?? DEFAULT_SOCKET_PATH);
  return a.host === b.host && (a.port ?? 22) === (b.port ?? 22) && (a.username ?? '') === (b.username ?? '');
}

/** "user@host:port" for messages and pins. */
export function describeTarget(target: LabTarget): string {
  if (target.kind === 'local') return `local socket ${target.socketPath ?? DEFAULT_SOCKET_PATH}`;
  return `${target.username ? `${target.username}@` : ''}${target.host ?? '?'}:${target.port ?? 22}`;
}

/*
 * A real VS Code for end-to-end tests: code-server (VS Code's workbench and extension host served
 * over HTTP) started on 127.0.0.1 with throwaway user-data and extensions directories.
 *
 * Why code-server and not @vscode/test-electron: the latter downloads a VS Code build, which this
 * offline CI cannot do; code-server comes from the npm registry (scripts/install-code-server.sh).
 * The extension host runs on the server side in code-server's own Node 24, on this machine — so the
 * extension under test talks to the loopback sshd and agent exactly as desktop VS Code would.
 *
 * Each server is fully isolated: its own port, --user-data-dir (settings.json, state, logs),
 * --extensions-dir and --config, all under one temp directory removed on stop. It is stopped by
 * the PID we started, never by name.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..', '..');
const CACHE = process.env.CONTAINERS_LAB_CACHE ?? '/var/cache/containers-lab';
export const CODE_SERVER_VERSION = '4.139.1';

/** The launcher written by scripts/install-code-server.sh (runs code-server on its own Node 24). */
export function codeServerLauncher(): string {
  const launcher = process.env.CODE_SERVER ?? join(CACHE, `code-server-${CODE_SERVER_VERSION}`, 'bin', 'code-server');
  if (!existsSync(launcher)) {
    throw new Error(`code-server is not installed (${launcher} missing): run scripts/install-code-server.sh first`);
  }
  return launcher;
}

export interface CodeServerOptions {
  /** .vsix files to install with `code-server --install-extension` before starting. */
  vsix?: string[];
  /** Written to <user-data-dir>/User/settings.json. */
  settings?: Record<string, unknown>;
  /** Folder the workbench opens. */
  folder?: string;
  /** `--vscode-option` flags, e.g. 'enable-smoke-test-driver' (runs extensionTestsPath payloads). */
  vscodeOptions?: string[];
  /** A name for the temp directory, to find it while debugging. */
  label?: string;
  /** Extra environment for the server — and so for its extension host. */
  env?: Record<string, string>;
}

export interface CodeServer {
  url: string;
  port: number;
  pid: number;
  /** The throwaway root: user-data/, extensions/, config.yaml, server.log. */
  root: string;
  userDataDir: string;
  extensionsDir: string;
  /** The server's own output so far (stdout + stderr). */
  log(): string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Runs the code-server CLI for a one-shot verb (install/list extensions) against this server's dirs. */
function codeServerCli(root: string, args: string[]): string {
  const result = spawnSync(codeServerLauncher(), ['--config', join(root, 'config.yaml'), '--user-data-dir', join(root, 'user-data'), '--extensions-dir', join(root, 'extensions'), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`code-server ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
  const launcher = codeServerLauncher();
  const root = mkdtempSync(join(tmpdir(), `cl-code-server-${options.label ?? 'e2e'}-`));
  const userDataDir = join(root, 'user-data');
  const extensionsDir = join(root, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  // An explicit (empty) config, so code-server never writes ~/.config/code-server/config.yaml.
  writeFileSync(join(root, 'config.yaml'), '');
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify(
      {
        // a quiet, deterministic workbench: no welcome page, no trust prompt, no update/telemetry chatter
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'chat.disableAIFeatures': true,
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'terminal.integrated.enablePersistentSessions': false,
        ...options.settings,
      },
      null,
      2,
    ),
  );
  for (const vsix of options.vsix ?? []) codeServerCli(root, ['--install-extension', vsix, '--force']);

  const port = await freePort();
  const args = [
    '--config', join(root, 'config.yaml'),
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  for (const option of options.vscodeOptions ?? []) args.push('--vscode-option', option);
  if (options.folder) args.push(options.folder);

  const child: ChildProcess = spawn(launcher, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env }, detached: true });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  const url = `http://127.0.0.1:${port}/`;

  const server: CodeServer = {
    url,
    port,
    pid: child.pid!,
    root,
    userDataDir,
    extensionsDir,
    log: () => output,
    stop: async () => {
      // code-server's helpers (extension host, pty host, file watcher) are its process group's
      // members and write to the user-data directory until they end: end the whole group first.
      signalGroup(child.pid!, 'SIGTERM');
      const deadline = Date.now() + 5_000;
      while (groupAlive(child.pid!) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      if (groupAlive(child.pid!)) signalGroup(child.pid!, 'SIGKILL');
      while (groupAlive(child.pid!)) await new Promise((resolve) => setTimeout(resolve, 50));
      rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };

  // Ready when the HTTP server answers (code-server logs "HTTP server listening on …" first).
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await server.stop();
      throw new Error(`code-server exited (${child.exitCode}) before listening:\n${output}`);
    }
    const ok = await fetch(`${url}healthz`).then((r) => r.ok, () => false);
    if (ok) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`code-server did not listen on ${url} within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The installed extensions (publisher.name@version) in this server's extensions dir. */
export function listExtensions(server: CodeServer): string[] {
  return codeServerCli(server.root, ['--list-extensions', '--show-versions']).split('\n').filter(Boolean);
}

/** The extension host's log(s) for this server: where an extension's activation errors show up. */
export function extensionHostLogs(server: CodeServer): string {
  const found = spawnSync('find', [join(server.userDataDir, 'logs'), '-name', '*.log', '-path', '*exthost*'], { encoding: 'utf8' });
  return (found.stdout ?? '')
    .split('\n')
    .filter(Boolean)
    .map((file) => `--- ${file}\n${readFileSync(file, 'utf8')}`)
    .join('\n');
}

/** Signals every process of the group `leader` started (code-server and its helpers); gone is fine. */
function signalGroup(leader: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-leader, signal);
  } catch {
    // the group has already ended
  }
}

function groupAlive(leader: number): boolean {
  try {
    process.kill(-leader, 0);
    return true;
  } catch {
    return false;
  }
}

/*
 * The rig the VS Code benchmarks (./extension.ts, ./topology.ts) measure in: everything a learner's
 * VS Code really runs on, started for one benchmark and taken down after it.
 *
 *   headless Chromium ── the VS Code workbench served by code-server (the packaged .vsix installed)
 *        │                   extension host ── ssh2 ── OpenSSH on 127.0.0.1 (throwaway keys)
 *        │                                                 └─ streamlocal ── agent socket ── agent
 *        └─ the benchmark drives the page                                               │
 *   the benchmark ── its own client on the agent socket ─────────────────────────────────┘
 *
 * openRig packages the .vsix, starts sshd, the agent service and code-server (settings pointing at
 * both), opens the workbench, runs "Containers Lab: Connect" and trusts the host key. closeRig stops
 * all of it and says what was left behind: the agent has its own state root and socket in a
 * temporary directory; the extension's bootstrap still uploads its agent build into root's
 * ~/.containers-lab/agent, and a build directory that was not there before is removed; bridges the
 * benchmark names are deleted only if this run created them; every process is stopped by the PID
 * this run started (code-server's helpers by PID and start time).
 *
 * playwright-core is loaded at run time from the repository's node_modules, not bundled into
 * dist/bench.js: it reads its own package.json relative to its files, which a bundle breaks. For
 * the same reason this file drives the page itself rather than importing test/e2e/helpers/browser.ts
 * (which imports playwright-core statically).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { codeServerLauncher, startCodeServer, type CodeServer } from '../test/e2e/helpers/code-server';
import { hostLinkNames, processExists } from '../test/helpers/kernel-witness';
import { childrenOf, makeKey, SSHD, startSshd, type TestSshd } from '../test/helpers/sshd';
import { findLeftovers } from './leftovers';
import { startService, type BenchService } from './service';

export const STEP_TIMEOUT_MS = 60_000;

/** dist/bench.js → the repository root (where node_modules and package.json are). */
const REPO = join(__dirname, '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const AGENT_INSTALL_ROOT = join(homedir(), '.containers-lab', 'agent');

/**
 * Timed runs for a benchmark: `full`, or `quick` with BENCH_QUICK=1 (a short run that checks the
 * rig and the measurement work, not a result to quote).
 */
export function runCount(full: number, quick: number): number {
  return process.env.BENCH_QUICK === '1' ? quick : full;
}

type Playwright = typeof import('playwright-core');

/** Why the VS Code benchmarks cannot run on this machine, or null when they can. */
export function codeServerRigUnavailable(): string | null {
  try {
    codeServerLauncher();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (!existsSync(CHROMIUM)) return `Chromium is not installed (${CHROMIUM} missing): run scripts/install-code-server.sh`;
  if (!existsSync(SSHD)) return `OpenSSH's server is not installed (${SSHD} missing): apt-get install openssh-server`;
  try {
    loadPlaywright();
  } catch {
    return `playwright-core is not installed in ${REPO}/node_modules: run npm ci`;
  }
  return null;
}

function loadPlaywright(): Playwright {
  return createRequire(join(REPO, 'package.json'))('playwright-core') as Playwright;
}

export interface RigOptions {
  /** Names the work directory, code-server's label and the host key: "bench", "bench-topology". */
  label: string;
  /** Who the warnings speak of: "the extension benchmark". */
  owner: string;
  /** Put before each warning ("topology bench, "), or nothing. */
  warningPrefix?: string;
  /** Bridges the benchmark's containers use: deleted at the end if this run created them. */
  bridges: string[];
  /** VS Code settings beyond those that point the extension at the rig's sshd and agent. */
  settings?: Record<string, unknown>;
}

/** Everything a rig starts, so that closeRig can stop exactly it. */
export interface Rig {
  readonly options: RigOptions;
  readonly work: string;
  page?: Page;
  sshd?: TestSshd;
  agent?: BenchService;
  server?: CodeServer;
  browser?: Browser;
  serverProcesses: ProcessIdentity[];
  installRootExisted: boolean;
  buildsBefore: Set<string>;
  bridgesExisting: Set<string>;
  /** Containers the benchmark made (closeRig adds those still listed), to look for leftovers of. */
  containerIds: Set<string>;
}

/** A rig with nothing started yet: pass it to openRig, and to closeRig in a `finally`. */
export function newRig(options: RigOptions): Rig {
  const hostLinks = hostLinkNames();
  return {
    options,
    work: mkdtempSync(`/tmp/containers-lab-${options.label}-`),
    serverProcesses: [],
    installRootExisted: existsSync(AGENT_INSTALL_ROOT),
    buildsBefore: new Set(existsSync(AGENT_INSTALL_ROOT) ? readdirSync(AGENT_INSTALL_ROOT) : []),
    bridgesExisting: new Set(options.bridges.filter((bridge) => hostLinks.includes(bridge))),
    containerIds: new Set(),
  };
}

/** Starts everything and connects the extension; returns the workbench page with the Containers Lab sidebar open. */
export async function openRig(rig: Rig, say: (line: string) => void): Promise<Page> {
  say('  packaging the extension (.vsix)');
  const vsix = packageVsix(rig.work);

  say('  starting sshd on 127.0.0.1, the agent and code-server');
  const sshdDir = join(rig.work, 'sshd');
  mkdirSync(sshdDir);
  makeKey(join(sshdDir, 'host_key'), `containers-lab-${rig.options.label}-host`);
  rig.sshd = await startSshd(sshdDir, join(sshdDir, 'host_key'));
  rig.agent = await startService(join(rig.work, 'agent'));
  const workspace = join(rig.work, 'workspace');
  mkdirSync(workspace);
  rig.server = await startCodeServer({
    label: rig.options.label,
    vsix: [vsix],
    folder: workspace,
    settings: {
      'containersLab.target': 'settings',
      'containersLab.ssh.host': '127.0.0.1',
      'containersLab.ssh.port': rig.sshd.port,
      'containersLab.ssh.username': 'root',
      'containersLab.ssh.privateKeyPath': rig.sshd.clientKey,
      'containersLab.agent.socketPath': rig.agent.socket,
      ...rig.options.settings,
    },
  });

  say('  opening the workbench in headless Chromium and connecting (trusting the host key)');
  rig.browser = await loadPlaywright().chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await rig.browser.newPage({ viewport: { width: 1440, height: 900 } });
  rig.page = page;
  const url = new URL(rig.server.url);
  url.searchParams.set('folder', workspace);
  await step('loading the workbench', async () => {
    await page.goto(url.toString());
    for (const part of ['.monaco-workbench', '.part.activitybar', '.part.statusbar']) {
      await page.locator(part).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    }
  });
  rig.serverProcesses = noteProcesses(rig.serverProcesses, descendantsOf(rig.server.pid));
  await step('opening the Containers Lab sidebar', async () => {
    const activity = activityBarItem(page);
    await activity.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await activity.click();
  });
  await step('running Connect', async () => (await paletteRow(page, 'Containers Lab: Connect')).click());
  await step('trusting the host key', async () => {
    await page.locator('.monaco-dialog-box').first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: 'Trust and Connect' }).first().click();
  });
  await step('waiting for the connected, empty Containers view', () =>
    containersPane(page).getByText('No containers yet.').first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS }),
  );
  // The extension host is up now; note its processes too, to check they are gone at the end.
  rig.serverProcesses = noteProcesses(rig.serverProcesses, descendantsOf(rig.server.pid));
  return page;
}

/** Runs one step of the set-up; a failure says which step it was. */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new Error(`${what}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}

/** The .vsix from the current build (npm run bench has just run build.mjs), into the work dir. */
function packageVsix(work: string): string {
  const given = process.env.CONTAINERS_LAB_VSIX;
  if (given) return given;
  const out = join(work, 'containers-lab.vsix');
  const vsce = join(REPO, 'node_modules', '.bin', 'vsce');
  const result = spawnSync(vsce, ['package', '--no-dependencies', '-o', out], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0 || !existsSync(out)) throw new Error(`vsce package failed: ${result.stderr || result.stdout}`);
  return out;
}

// --- the page ------------------------------------------------------------------------------------

/** The Containers Lab icon in the activity bar (a click shows or hides its sidebar). */
export function activityBarItem(page: Page): Locator {
  return page.locator('.part.activitybar [aria-label="Containers Lab"], .part.activitybar [aria-label^="Containers Lab ("]').first();
}

/** Opens the palette, types the command's title, returns its row (visible, not yet clicked). */
export async function paletteRow(page: Page, title: string): Promise<Locator> {
  await page.locator('.monaco-workbench').click({ position: { x: 700, y: 5 } }).catch(() => undefined);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input[type="text"], .quick-input-widget .quick-input-filter input').first();
  await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  await input.fill(`>${title}`);
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact }) }).first();
  await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  return row;
}

export function containersPane(page: Page): Locator {
  return page.locator('.part.sidebar .pane').filter({ has: page.locator('.pane-header', { hasText: /^\s*Containers/i }) });
}

// --- cleanup -------------------------------------------------------------------------------------

/** Stops everything openRig started (whatever got started) and adds to `warnings` what was left. */
export async function closeRig(rig: Rig, warnings: string[]): Promise<void> {
  const prefix = rig.options.warningPrefix ?? '';
  const attempt = async (what: string, step: () => unknown): Promise<void> => {
    try {
      await step();
    } catch (error) {
      warnings.push(`${prefix}${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  await attempt('closing Chromium', () => rig.browser?.close());
  if (rig.server) rig.serverProcesses = noteProcesses(rig.serverProcesses, descendantsOf(rig.server.pid));
  await attempt('stopping code-server', () => rig.server?.stop());
  if (rig.agent) {
    const agent = rig.agent;
    await attempt('removing containers', async () => {
      for (const summary of await agent.client.call('container.list', {})) {
        rig.containerIds.add(summary.id);
        await agent.client.call('container.remove', { id: summary.id, force: true }, { timeoutMs: STEP_TIMEOUT_MS });
      }
    });
    await attempt('stopping the agent', () => agent.stop());
  }
  await attempt('stopping sshd', () => rig.sshd?.stop());
  await attempt('removing the uploaded agent build', () => {
    if (!rig.installRootExisted) rmSync(join(homedir(), '.containers-lab'), { recursive: true, force: true });
    else for (const entry of readdirSync(AGENT_INSTALL_ROOT)) if (!rig.buildsBefore.has(entry)) rmSync(join(AGENT_INSTALL_ROOT, entry), { recursive: true, force: true });
  });
  const createdBridges = (): string[] => rig.options.bridges.filter((bridge) => !rig.bridgesExisting.has(bridge) && hostLinkNames().includes(bridge));
  for (const bridge of createdBridges()) await attempt(`deleting the bridge ${bridge} this run created`, () => spawnSync('ip', ['link', 'del', bridge]));
  rmSync(rig.work, { recursive: true, force: true });

  await attempt("stopping code-server's helper processes", () => stopOrphans(rig.serverProcesses));
  for (const pid of [rig.sshd?.pid, rig.server?.pid]) {
    if (pid !== undefined && processExists(pid)) warnings.push(`${prefix}process ${pid} of ${rig.options.owner} is still running`);
  }
  for (const helper of rig.serverProcesses) {
    if (sameProcess(helper)) warnings.push(`${prefix}code-server's process ${helper.pid} is still running`);
  }
  for (const bridge of createdBridges()) warnings.push(`${prefix}bridge ${bridge} still exists`);
  warnings.push(...findLeftovers({ markers: [...rig.containerIds], servicePid: rig.agent?.pid ?? null, workDirectory: rig.work }).map((warning) => `${prefix}${warning}`));
}

/** A process as started: its PID and its start time, so a reused PID is never mistaken for it. */
interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/** Every process below `pid` (code-server's extension host, pty host, file watcher, …). */
function descendantsOf(pid: number): ProcessIdentity[] {
  const children = childrenOf(pid);
  const all = [...children, ...children.flatMap((child) => descendantsOf(child).map((found) => found.pid))];
  return all.flatMap((child) => {
    const startTime = startTimeOf(child);
    return startTime === null ? [] : [{ pid: child, startTime }];
  });
}

/** The processes seen so far plus the ones newly seen. */
function noteProcesses(known: ProcessIdentity[], seen: ProcessIdentity[]): ProcessIdentity[] {
  return [...known, ...seen.filter((found) => !known.some((old) => old.pid === found.pid && old.startTime === found.startTime))];
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function sameProcess(helper: ProcessIdentity): boolean {
  return processExists(helper.pid) && startTimeOf(helper.pid) === helper.startTime;
}

/**
 * code-server's SIGTERM does not reach all of its helpers at once: its file watcher, for one, is
 * re-parented to init and lingers for tens of seconds. Give them a moment, then SIGTERM the ones
 * this run saw being started under code-server — by PID, checked against their start time.
 */
async function stopOrphans(processes: ProcessIdentity[]): Promise<void> {
  const alive = (): ProcessIdentity[] => processes.filter(sameProcess);
  for (let wait = 0; wait < 20 && alive().length > 0; wait++) await new Promise((resolve) => setTimeout(resolve, 100));
  for (const helper of alive()) process.kill(helper.pid, 'SIGTERM');
  for (let wait = 0; wait < 50 && alive().length > 0; wait++) await new Promise((resolve) => setTimeout(resolve, 100));
}

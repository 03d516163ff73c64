/*
 * What a learner waits for in VS Code: from choosing "Containers Lab: Start busybox container" in
 * the command palette until the container runs, and from "Open Shell in Container" until the
 * shell's prompt is on screen. Target: under 2 s over loopback SSH.
 *
 * Everything on the path is the real thing, as in the end-to-end test (test/e2e/sidebar.e2e.ts):
 *
 *   headless Chromium ── the VS Code workbench served by code-server (the packaged .vsix installed)
 *        │                   extension host ── ssh2 ── OpenSSH on 127.0.0.1 (throwaway keys)
 *        │                                                 └─ streamlocal ── agent socket ── agent
 *        └─ timestamps from the page itself                                      │
 *   this process ── its own client on the agent socket ── container.changed ─────┘
 *
 * The clocks. Each run starts at the `pointerdown` on the palette row (recorded by the page, so
 * the benchmark's own typing and Playwright's round trips are not counted), and ends at:
 *   running      the agent's `container.changed` → running notification, received by this process
 *                on its own socket connection (and checked against the kernel: the PID it names is
 *                alive in its own PID namespace);
 *   tree node    the first animation frame in which the Containers view's DOM shows the
 *                container's row (checked by the page on every frame: waitForFunction, 'raf');
 *   prompt       the first frame in which the terminal's DOM shows busybox's `/ # ` (xterm renders
 *                rows as DOM text with GPU acceleration off).
 * Page and process read the same system clock (Date.now()), so the stamps compare directly.
 * "→ shell prompt" is what the learner waits in all: start → tree node, plus Open Shell → prompt.
 *
 * Between runs, outside the clocks: `exit` in the shell (its terminal closes), the container is
 * removed through the agent, the node leaves the tree.
 *
 * Isolation and cleanup as in the e2e test: the agent is a separate service with its own state
 * root and socket in a temporary directory; the extension's bootstrap still uploads its agent
 * build into root's ~/.containers-lab/agent, and a build directory that was not there before is
 * removed afterwards; the lab bridge is deleted only if this run created it. Every process is
 * stopped by the PID this run started.
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
import type { ContainerSummary } from '../agent/protocol';
import { codeServerLauncher, startCodeServer, type CodeServer } from '../test/e2e/helpers/code-server';
import { hostLinkNames, nsInode, processExists } from '../test/helpers/kernel-witness';
import { childrenOf, makeKey, SSHD, startSshd, type TestSshd } from '../test/helpers/sshd';
import { findLeftovers } from './leftovers';
import { startService, type BenchService } from './service';
import { summarize, type Summary } from './stats';

export const EXTENSION_RUNS = 10;
export const EXTENSION_WARMUP = 1;
export const EXTENSION_TARGET_MS = 2000;

const START_TITLE = 'Containers Lab: Start busybox container';
const SHELL_TITLE = 'Containers Lab: Open Shell in Container';
const CONNECT_TITLE = 'Containers Lab: Connect';
const BUSYBOX_NAME = '^busybox-\\d+$';
const LAB_BRIDGE = 'cl0';
const STEP_TIMEOUT_MS = 60_000;

/** dist/bench.js → the repository root (where node_modules and package.json are). */
const REPO = join(__dirname, '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const AGENT_INSTALL_ROOT = join(homedir(), '.containers-lab', 'agent');

export interface ExtensionBenchResult {
  runs: number;
  /** Palette click → the agent reports the container running. */
  running: Summary;
  /** Palette click → the container's node is in the Containers view. */
  treeNode: Summary;
  /** "Open Shell" click → `/ # ` in the terminal. */
  shell: Summary;
  /** Start → tree node, plus Open Shell → prompt: the learner's whole wait. */
  toPrompt: Summary;
  /** Seconds to start sshd, agent and code-server, open the workbench and connect (not timed per run). */
  setupSeconds: number;
}

type Playwright = typeof import('playwright-core');

/** Why the extension benchmark cannot run on this machine, or null when it can. */
export function extensionBenchUnavailable(): string | null {
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

/** Everything this run starts, so that cleanup can stop exactly it. */
interface Rig {
  work: string;
  sshd?: TestSshd;
  agent?: BenchService;
  server?: CodeServer;
  serverProcesses: ProcessIdentity[];
  browser?: Browser;
  installRootExisted: boolean;
  buildsBefore: Set<string>;
  bridgeExisted: boolean;
  containerIds: Set<string>;
}

/** Runs the benchmark; `say` prints progress, `warnings` collects what was left behind. */
export async function benchExtension(say: (line: string) => void, warnings: string[]): Promise<ExtensionBenchResult> {
  const rig: Rig = {
    work: mkdtempSync('/tmp/containers-lab-bench-ext-'),
    serverProcesses: [],
    installRootExisted: existsSync(AGENT_INSTALL_ROOT),
    buildsBefore: new Set(existsSync(AGENT_INSTALL_ROOT) ? readdirSync(AGENT_INSTALL_ROOT) : []),
    bridgeExisted: hostLinkNames().includes(LAB_BRIDGE),
    containerIds: new Set(),
  };
  try {
    const setupStart = Date.now();
    const page = await setUp(rig, say);
    const setupSeconds = (Date.now() - setupStart) / 1000;
    const samples = { running: [] as number[], treeNode: [] as number[], shell: [] as number[], toPrompt: [] as number[] };
    say(`  ${EXTENSION_RUNS} timed runs after ${EXTENSION_WARMUP} warm-up`);
    for (let run = 0; run < EXTENSION_WARMUP + EXTENSION_RUNS; run++) {
      const one = await startAndOpenShell(page, rig);
      if (run < EXTENSION_WARMUP) continue;
      samples.running.push(one.running);
      samples.treeNode.push(one.treeNode);
      samples.shell.push(one.shell);
      samples.toPrompt.push(one.treeNode + one.shell);
    }
    return {
      runs: EXTENSION_RUNS,
      running: summarize(samples.running),
      treeNode: summarize(samples.treeNode),
      shell: summarize(samples.shell),
      toPrompt: summarize(samples.toPrompt),
      setupSeconds,
    };
  } finally {
    await tearDown(rig, warnings);
  }
}

// --- set-up ----------------------------------------------------------------------------------------

async function setUp(rig: Rig, say: (line: string) => void): Promise<Page> {
  say('  packaging the extension (.vsix)');
  const vsix = packageVsix(rig.work);

  say('  starting sshd on 127.0.0.1, the agent and code-server');
  const sshdDir = join(rig.work, 'sshd');
  mkdirSync(sshdDir);
  makeKey(join(sshdDir, 'host_key'), 'containers-lab-bench-host');
  rig.sshd = await startSshd(sshdDir, join(sshdDir, 'host_key'));
  rig.agent = await startService(join(rig.work, 'agent'));
  const workspace = join(rig.work, 'workspace');
  mkdirSync(workspace);
  rig.server = await startCodeServer({
    label: 'bench',
    vsix: [vsix],
    folder: workspace,
    settings: {
      'containersLab.target': 'settings',
      'containersLab.ssh.host': '127.0.0.1',
      'containersLab.ssh.port': rig.sshd.port,
      'containersLab.ssh.username': 'root',
      'containersLab.ssh.privateKeyPath': rig.sshd.clientKey,
      'containersLab.agent.socketPath': rig.agent.socket,
      // xterm renders rows as DOM text (not a canvas), so the page can see the prompt
      'terminal.integrated.gpuAcceleration': 'off',
    },
  });

  say('  opening the workbench in headless Chromium and connecting (trusting the host key)');
  rig.browser = await loadPlaywright().chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await rig.browser.newPage({ viewport: { width: 1440, height: 900 } });
  const url = new URL(rig.server.url);
  url.searchParams.set('folder', workspace);
  await page.goto(url.toString());
  for (const part of ['.monaco-workbench', '.part.activitybar', '.part.statusbar']) {
    await page.locator(part).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  }
  rig.serverProcesses = noteProcesses(rig.serverProcesses, descendantsOf(rig.server.pid));
  const activity = page.locator('.part.activitybar [aria-label="Containers Lab"], .part.activitybar [aria-label^="Containers Lab ("]').first();
  await activity.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  await activity.click();

  await (await paletteRow(page, CONNECT_TITLE)).click();
  await page.locator('.monaco-dialog-box').first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  await page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: 'Trust and Connect' }).first().click();
  await containersPane(page).getByText('No containers yet.').first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  // The extension host is up now; note its processes too, to check they are gone at the end.
  rig.serverProcesses = noteProcesses(rig.serverProcesses, descendantsOf(rig.server.pid));
  return page;
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

// --- one timed run ------------------------------------------------------------------------------

interface RunTimes {
  running: number;
  treeNode: number;
  shell: number;
}

async function startAndOpenShell(page: Page, rig: Rig): Promise<RunTimes> {
  const agent = rig.agent!;
  const running = nextRunningEvent(agent);
  try {
    // 1. Start busybox container: palette click → running (agent) and → node in the tree (page).
    const startRow = await paletteRow(page, START_TITLE);
    await markPointerDown(page);
    await startRow.click();
    const treeAt = await waitInPage(page, containerRowProbe, { pattern: BUSYBOX_NAME, present: true });
    const started = await running.event;
    rig.containerIds.add(started.summary.id);
    const startAt = await pointerDownAt(page);
    const pid = started.summary.pid;
    if (pid === null || !processExists(pid) || nsInode(pid, 'pid') === nsInode('self', 'pid')) {
      throw new Error(`the agent said ${started.summary.name} runs, but the kernel disagrees (PID ${pid} missing or in the host's PID namespace)`);
    }

    // 2. Open Shell in Container: palette click → `/ # ` in the terminal.
    const shellRow = await paletteRow(page, SHELL_TITLE);
    await markPointerDown(page);
    await shellRow.click();
    const promptAt = await waitInPage(page, promptProbe, { pattern: '', present: true }); // (the prompt probe needs no query)
    const shellAt = await pointerDownAt(page);

    // 3. Untimed: leave the shell (its terminal closes), remove the container, see the node go.
    await closeShell(page);
    await agent.client.call('container.remove', { id: started.summary.id, force: true }, { timeoutMs: STEP_TIMEOUT_MS });
    await waitInPage(page, containerRowProbe, { pattern: BUSYBOX_NAME, present: false });
    return { running: started.at - startAt, treeNode: treeAt - startAt, shell: promptAt - shellAt };
  } finally {
    running.cancel();
  }
}

/** The next container.changed → running notification on the benchmark's own agent connection. */
function nextRunningEvent(agent: BenchService): { event: Promise<{ at: number; summary: ContainerSummary }>; cancel(): void } {
  let off = (): void => undefined;
  let timer: NodeJS.Timeout | undefined;
  const event = new Promise<{ at: number; summary: ContainerSummary }>((resolve, reject) => {
    off = agent.client.on('container.changed', (change) => {
      if (change.status !== 'running') return;
      off();
      clearTimeout(timer);
      resolve({ at: Date.now(), summary: change.summary });
    });
    timer = setTimeout(() => reject(new Error(`the agent reported no container running within ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS);
  });
  event.catch(() => undefined); // awaited later; keep an early timeout from being "unhandled"
  return {
    event,
    cancel: () => {
      off();
      clearTimeout(timer);
    },
  };
}

/** Leaves the shell with `exit`: the agent ends the exec session and the terminal closes. */
async function closeShell(page: Page): Promise<void> {
  await page.locator('.terminal-wrapper.active .xterm').first().click();
  await page.keyboard.type('exit');
  await page.keyboard.press('Enter');
  await page.locator('.terminal-wrapper .xterm').first().waitFor({ state: 'detached', timeout: STEP_TIMEOUT_MS });
}

// --- the page ------------------------------------------------------------------------------------

/** Opens the palette, types the command's title, returns its row (visible, not yet clicked). */
async function paletteRow(page: Page, title: string): Promise<Locator> {
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

/** From now on the page notes when the next pointer press lands (capture phase: before the list sees it). */
async function markPointerDown(page: Page): Promise<void> {
  await page.evaluate(() => {
    const marks = window as unknown as { containersLabPointerDown?: number };
    delete marks.containersLabPointerDown;
    document.addEventListener('pointerdown', () => (marks.containersLabPointerDown = Date.now()), { capture: true, once: true });
  });
}

async function pointerDownAt(page: Page): Promise<number> {
  const at = await page.evaluate(() => (window as unknown as { containersLabPointerDown?: number }).containersLabPointerDown);
  if (typeof at !== 'number') throw new Error('the page saw no click on the palette row');
  return at;
}

/**
 * Waits until `probe` (run inside the page) returns a time, re-checking it on every animation
 * frame; returns that time: the page's Date.now() in the first frame that shows it — which is when
 * a learner could first see it, too.
 */
async function waitInPage(page: Page, probe: (argument: RowQuery) => number | false, argument: RowQuery): Promise<number> {
  const handle = await page.waitForFunction(probe, argument, { polling: 'raf', timeout: STEP_TIMEOUT_MS });
  return (await handle.jsonValue()) as number;
}

/** Which container row a probe looks for: one named like `pattern`, present or absent. */
interface RowQuery {
  pattern: string;
  present: boolean;
}

// Probes: Playwright sends their source to the page, so they may use only their argument and the DOM.

/** Date.now() once the Containers view does (or, with present false, no longer does) show a row named like `pattern`. */
function containerRowProbe({ pattern, present }: RowQuery): number | false {
  const name = new RegExp(pattern);
  const panes = Array.from(document.querySelectorAll('.part.sidebar .pane')).filter((pane) => /^\s*containers/i.test(pane.querySelector('.pane-header')?.textContent ?? ''));
  const shown = panes.some((pane) =>
    Array.from(pane.querySelectorAll('.monaco-list-row[role="treeitem"] .label-name')).some((label) => name.test((label.textContent ?? '').trim())),
  );
  return shown === present ? Date.now() : false;
}

/** Date.now() once the active terminal shows busybox's root prompt `/ # ` at the end of a row. */
function promptProbe(): number | false {
  const rows = document.querySelector('.terminal-wrapper.active .xterm-rows');
  if (!rows) return false;
  const shown = Array.from(rows.children).some((row) => /(^|\s)\/ #$/.test((row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));
  return shown ? Date.now() : false;
}

function containersPane(page: Page): Locator {
  return page.locator('.part.sidebar .pane').filter({ has: page.locator('.pane-header', { hasText: /^\s*Containers/i }) });
}

// --- cleanup -------------------------------------------------------------------------------------

async function tearDown(rig: Rig, warnings: string[]): Promise<void> {
  const attempt = async (what: string, step: () => unknown): Promise<void> => {
    try {
      await step();
    } catch (error) {
      warnings.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
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
  await attempt(`deleting the bridge ${LAB_BRIDGE} this run created`, () => {
    if (!rig.bridgeExisted && hostLinkNames().includes(LAB_BRIDGE)) spawnSync('ip', ['link', 'del', LAB_BRIDGE]);
  });
  rmSync(rig.work, { recursive: true, force: true });

  await attempt("stopping code-server's helper processes", () => stopOrphans(rig.serverProcesses));
  for (const pid of [rig.sshd?.pid, rig.server?.pid]) {
    if (pid !== undefined && processExists(pid)) warnings.push(`process ${pid} of the extension benchmark is still running`);
  }
  for (const helper of rig.serverProcesses) {
    if (sameProcess(helper)) warnings.push(`code-server's process ${helper.pid} is still running`);
  }
  if (!rig.bridgeExisted && hostLinkNames().includes(LAB_BRIDGE)) warnings.push(`bridge ${LAB_BRIDGE} still exists`);
  warnings.push(...findLeftovers({ markers: [...rig.containerIds], servicePid: rig.agent?.pid ?? null, workDirectory: rig.work }));
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

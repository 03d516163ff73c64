/*
 * One lab, as a learner has it, for an end-to-end test file: a real OpenSSH server on 127.0.0.1
 * (keys made for this run), the agent service with its own state root and socket, code-server with
 * the packaged .vsix and settings pointing at both, and headless Chromium on its workbench.
 *
 *   test ──── its own agent client ───────────────────────────────┐
 *   Chromium ── code-server ── extension host ── ssh2 ── sshd ── agent socket ── agent (state root in work/)
 *
 * close() takes it all down again and then checks, against the kernel, that nothing is left of any
 * container this session's agent ever reported (processes, cgroups, links, mounts, state dirs); it
 * throws listing what remains. The extension's bootstrap uploads its agent build into root's
 * ~/.containers-lab/agent: a build directory that was not there before is removed, and so are bridges
 * the session was told about, if this run is what created them.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import type { ContainerSummary } from '../../../agent/protocol';
import { leftovers, NONE_LEFT, removeBridgeIfCreated, type Leftovers } from '../../helpers/kernel-witness';
import { startService, stopService, type RunningService } from '../../helpers/service';
import { makeKey, startSshd, type TestSshd } from '../../helpers/sshd';
import { clickActivityBarItem, launchBrowser, openWorkbench, runCommand, screenshot, treeRowTexts, viewPane, type Browser } from './browser';
import { extensionHostLogs, startCodeServer, type CodeServer } from './code-server';
import { clickDialogButton, waitForDialog } from './dialogs';
import { productVsix } from './vsix';

const INSTALL_ROOT = join(homedir(), '.containers-lab', 'agent');
/** The agent's default bridge (containers started without `bridge`). */
export const LAB_BRIDGE = 'cl0';

export interface LabSessionOptions {
  /** Names the temp directories (cl-e2e-<label>-…) and the code-server instance. */
  label: string;
  /** More workbench settings (the connection settings are the session's). */
  settings?: Record<string, unknown>;
  /** Bridges the test's containers may create: deleted at close if they did not exist before. Default [cl0]. */
  bridges?: string[];
  /** More environment for the agent service, e.g. CONTAINERS_LAB_LABS: lab files of the test's own. */
  agentEnv?: Record<string, string>;
}

export interface LabSession {
  /** The temp directory holding everything below. */
  work: string;
  stateRoot: string;
  socketPath: string;
  workspace: string;
  sshd: TestSshd;
  /** The agent service; its client is the test's own connection (independent of the extension's). */
  agent: RunningService;
  server: CodeServer;
  browser: Browser;
  page: Page;
  /** The containers the agent has now. */
  containers(): Promise<ContainerSummary[]>;
  /**
   * Opens the workbench on the session's workspace folder. The first time, it also waits for the
   * extension's first start (the sidebar and the walkthrough open, taking the focus) and closes the
   * walkthrough, so that what the test does next is not interrupted by it.
   */
  openWorkbench(): Promise<void>;
  /** Opens the Containers Lab sidebar, runs "Connect", trusts the host key, waits for the Lab view's "State connected". */
  connect(): Promise<void>;
  /** Extension host logs and browser console (for failure messages). */
  diagnostics(): string;
  /** Tears everything down; throws if the kernel still holds something of the session's containers. */
  close(): Promise<void>;
}

export async function startLabSession(options: LabSessionOptions): Promise<LabSession> {
  const vsix = productVsix();
  const work = mkdtempSync(join(tmpdir(), `cl-e2e-${options.label}-`));
  const stateRoot = join(work, 'state');
  const socketPath = join(work, 'run', 'agent.sock');
  const workspace = join(work, 'workspace');
  for (const dir of ['sshd', 'run', 'workspace']) mkdirSync(join(work, dir), { recursive: true });

  const installRootExisted = existsSync(INSTALL_ROOT);
  const buildsBefore = new Set(installRootExisted ? readdirSync(INSTALL_ROOT) : []);
  const removeBridges = (options.bridges ?? [LAB_BRIDGE]).map((name) => removeBridgeIfCreated(name));
  // Every container the agent ever reports, for the leftover check at close.
  const seen = new Map<string, { id: string; pid: number | null }>();
  const note = (summary: ContainerSummary): void => {
    const known = seen.get(summary.id);
    seen.set(summary.id, { id: summary.id, pid: summary.pid ?? known?.pid ?? null });
  };

  let sshd: TestSshd | undefined;
  let agent: RunningService | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let offChanged: () => void = () => undefined;

  const teardown = async (): Promise<Leftovers> => {
    await browser?.close();
    if (server) {
      if (process.env.CONTAINERS_LAB_E2E_DEBUG) console.log(extensionHostLogs(server));
      await server.stop();
    }
    offChanged();
    // a service that died left its containers running: a new one on the same state root finds them
    if (agent?.unexpectedExit()) agent = await startService(stateRoot, socketPath, [], options.agentEnv).catch(() => agent);
    if (agent) {
      for (const summary of await agent.client.call('container.list', {}).catch(() => [])) {
        note(summary);
        await agent.client.call('container.remove', { id: summary.id, force: true }).catch(() => undefined);
      }
      await stopService(agent);
    }
    await sshd?.stop();
    if (!installRootExisted) rmSync(join(homedir(), '.containers-lab'), { recursive: true, force: true });
    else for (const entry of readdirSync(INSTALL_ROOT)) if (!buildsBefore.has(entry)) rmSync(join(INSTALL_ROOT, entry), { recursive: true, force: true });
    for (const removeBridge of removeBridges) removeBridge();
    const left = leftovers(stateRoot, [...seen.values()]);
    rmSync(work, { recursive: true, force: true });
    return left;
  };

  try {
    const hostKey = join(work, 'sshd', 'host_key');
    makeKey(hostKey, `containers-lab-e2e-${options.label}-host`);
    sshd = await startSshd(join(work, 'sshd'), hostKey);
    agent = await startService(stateRoot, socketPath, [], options.agentEnv);
    offChanged = agent.client.on('container.changed', (change) => note(change.summary));
    server = await startCodeServer({
      label: options.label,
      vsix: [vsix],
      folder: workspace,
      settings: {
        'containersLab.target': 'settings',
        'containersLab.ssh.host': '127.0.0.1',
        'containersLab.ssh.port': sshd.port,
        'containersLab.ssh.username': 'root',
        'containersLab.ssh.privateKeyPath': sshd.clientKey,
        'containersLab.agent.socketPath': socketPath,
        // xterm renders rows as DOM text (not a canvas) so a test can read the terminal
        'terminal.integrated.gpuAcceleration': 'off',
        ...options.settings,
      },
    });
    browser = await launchBrowser();
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }

  let greeted = false;
  const session: LabSession = {
    work,
    stateRoot,
    socketPath,
    workspace,
    sshd,
    agent,
    server,
    browser,
    page: browser.page,
    containers: () => agent!.client.call('container.list', {}),
    async openWorkbench() {
      await openWorkbench(browser!.page, server!.url, { folder: workspace });
      if (greeted) return;
      greeted = true;
      await closeFirstStartWalkthrough(browser!.page).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${session.diagnostics()}`);
      });
    },
    async connect() {
      const { page } = browser!;
      await clickActivityBarItem(page, 'Containers Lab');
      await runCommand(page, 'Containers Lab: Connect');
      const dialog = await waitForDialog(page, 60_000);
      if (!/trust the host key/i.test(dialog.message)) throw new Error(`connecting showed "${dialog.message}" (${dialog.detail}) instead of the host-key question\n${session.diagnostics()}`);
      await clickDialogButton(page, 'Trust and Connect');
      const lab = viewPane(page, 'Lab');
      const deadline = Date.now() + 90_000;
      let rows: string[] = [];
      while (Date.now() < deadline) {
        rows = await treeRowTexts(lab).catch(() => []);
        if (rows.some((row) => /^State connected( |$)/.test(row))) return;
        await page.waitForTimeout(100);
      }
      await screenshot(page, `${options.label}-not-connected`).catch(() => undefined);
      throw new Error(`not connected after 90 s; Lab view: ${rows.join(' | ')}\n${session.diagnostics()}`);
    },
    diagnostics: () => `${extensionHostLogs(server!).slice(-4000)}\n--- browser console\n${browser!.consoleLines.slice(-40).join('\n')}${agent!.unexpectedExit() ? `\n--- ${agent!.unexpectedExit()}` : ''}`,
    async close() {
      // an agent that died mid-test explains the failures before this, and what it left behind
      const died = agent!.unexpectedExit() ? session.diagnostics() : null;
      const left = await teardown();
      const what = Object.entries(left).filter(([, items]) => (items as unknown[]).length > 0);
      const problems: string[] = [];
      if (what.length > 0 || JSON.stringify(left) !== JSON.stringify(NONE_LEFT)) {
        problems.push(`left behind by the session's containers: ${what.map(([kind, items]) => `${kind}: ${(items as unknown[]).join(', ')}`).join('; ')}`);
      }
      if (died) problems.push(died);
      if (problems.length > 0) throw new Error(problems.join('\n'));
    },
  };
  return session;
}

/** The walkthrough's page, as the workbench shows it in the editor area. */
export function walkthroughPage(page: Page): Locator {
  return page.locator('.gettingStartedContainer').filter({ hasText: 'Get Started with Containers Lab' });
}

/**
 * Waits for the extension's first start (its activation comes at "startup finished": its status-bar
 * item appears) and closes the walkthrough it opens. (first-start.e2e.ts is where its opening is
 * checked; a build without a walkthrough is let through here.)
 */
export async function closeFirstStartWalkthrough(page: Page): Promise<void> {
  await page.locator('.part.statusbar', { hasText: 'Containers Lab' }).first().waitFor({ state: 'visible', timeout: 120_000 }).catch(() => {
    throw new Error('the extension did not activate within 120 s (no "Containers Lab" in the status bar)');
  });
  const opened = await walkthroughPage(page).first().waitFor({ state: 'visible', timeout: 20_000 }).then(() => true, () => false);
  if (!opened) return;
  const tab = page.locator('.tabs-container .tab').filter({ hasText: /^Welcome/ }).first();
  await tab.hover();
  await tab.locator('.codicon-close, .action-label[aria-label^="Close"]').first().click();
  await walkthroughPage(page).first().waitFor({ state: 'hidden', timeout: 15_000 });
}

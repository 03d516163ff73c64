/*
 * The README's first command on a host without Vagrant ends in scripts/open-vscode.sh: with no
 * desktop `code`, it starts code-server on 127.0.0.1 with the extension installed and
 * containersLab.target = "local", in the background, and prints its URL. This runs the script
 * for real (with its run/log/home directories and port redirected into a temp dir), opens the
 * printed URL in Chromium, where the extension connects to an agent service on this machine by
 * itself (the script sets containersLab.connectOnStartup).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processExists } from '../helpers/kernel-witness';
import { startService, stopService, type RunningService } from '../helpers/service';
import { clickActivityBarItem, launchBrowser, openWorkbench, screenshot, treeRowTexts, viewPane, waitForTreeItem, type Browser } from './helpers/browser';
import { freePort, REPO } from './helpers/code-server';
import { productVsix } from './helpers/vsix';

const work = mkdtempSync(join(tmpdir(), 'cl-e2e-open-vscode-'));
const socketPath = join(work, 'run', 'agent.sock');
let agent: RunningService;
let browser: Browser;
let env: NodeJS.ProcessEnv;
let firstOutput = '';

function openVscode(...args: string[]): string {
  return execFileSync('bash', [join(REPO, 'scripts', 'open-vscode.sh'), ...args], { env, encoding: 'utf8', timeout: 600_000 });
}

beforeAll(async () => {
  productVsix();
  mkdirSync(join(work, 'run'), { recursive: true });
  agent = await startService(join(work, 'state'), socketPath);
  env = {
    ...process.env,
    CONTAINERS_LAB_SOCKET: socketPath,
    CONTAINERS_LAB_RUN_DIR: join(work, 'run'),
    CONTAINERS_LAB_LOG_DIR: join(work, 'log'),
    CONTAINERS_LAB_CODE_SERVER_HOME: join(work, 'code-server'),
    CONTAINERS_LAB_CODE_SERVER_PORT: String(await freePort()),
    CONTAINERS_LAB_NO_DESKTOP: '1',
  };
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  if (env) openVscode('stop');
  if (agent) {
    for (const summary of await agent.client.call('container.list', {}).catch(() => [])) await agent.client.call('container.remove', { id: summary.id, force: true }).catch(() => undefined);
    await stopService(agent);
  }
  rmSync(work, { recursive: true, force: true });
});

describe('scripts/open-vscode.sh (no desktop VS Code: code-server)', () => {
  it('starts code-server in the background on 127.0.0.1 and prints its URL', () => {
    firstOutput = openVscode();
    const url = /http:\/\/127\.0\.0\.1:(\d+)\/\?folder=\S+/.exec(firstOutput)?.[0];
    expect(url, firstOutput).toBeDefined();
    expect(url).toContain(`:${env.CONTAINERS_LAB_CODE_SERVER_PORT}/`);
    const pid = Number(readFileSync(join(work, 'run', 'code-server.pid'), 'utf8'));
    expect(processExists(pid)).toBe(true);
    expect(existsSync(join(work, 'log', 'code-server.log'))).toBe(true);
    // bound to loopback only
    const listening = execFileSync('ss', ['-Hltn', `sport = :${env.CONTAINERS_LAB_CODE_SERVER_PORT}`], { encoding: 'utf8' });
    expect(listening).toContain(`127.0.0.1:${env.CONTAINERS_LAB_CODE_SERVER_PORT}`);
    expect(listening).not.toMatch(/(0\.0\.0\.0|\*|\[::\]):\d+/);
  });

  it('is idempotent: a second run reuses the running server', () => {
    const again = openVscode();
    expect(again).toMatch(/already running/);
    expect(again).toContain(/http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+/.exec(firstOutput)![0]);
  });

  it('the printed URL opens VS Code on the repository, and the extension connects to the local agent by itself', async () => {
    const url = /http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+/.exec(firstOutput)![0];
    const { page } = browser;
    await openWorkbench(page, url);
    // nothing is clicked but the sidebar: containersLab.connectOnStartup (set by the script) connects
    await clickActivityBarItem(page, 'Containers Lab');
    const lab = viewPane(page, 'Lab');
    await waitForTreeItem(lab, /^State$/, 30_000);
    await page.locator('.part.sidebar .monaco-list-row[role="treeitem"]', { hasText: /State\s*connected/ }).first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'open-vscode-connected-local');
    const rows = await treeRowTexts(lab);
    expect(rows.join('\n')).toMatch(/Target\s+this machine/);
    expect(rows.join('\n')).toMatch(/State\s+connected/);
    // the workbench opened the repository folder (its name is the window title)
    expect(await page.title()).toContain(REPO.split('/').pop()!);
  });

  it('"stop" stops the code-server it started', () => {
    const pid = Number(readFileSync(join(work, 'run', 'code-server.pid'), 'utf8'));
    openVscode('stop');
    const deadline = Date.now() + 10_000;
    while (processExists(pid) && Date.now() < deadline) execFileSync('sleep', ['0.2']);
    expect(processExists(pid)).toBe(false);
    expect(existsSync(join(work, 'run', 'code-server.pid'))).toBe(false);
  });
});

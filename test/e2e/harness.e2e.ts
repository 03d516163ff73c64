/*
 * The harness proves itself with a tiny fixture extension (test/e2e/fixtures/harness-extension):
 * if these pass, a failure in sidebar.e2e.ts is about the product, not about code-server, Chromium
 * or the selectors.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listExtensions, startCodeServer, type CodeServer } from './helpers/code-server';
import {
  clickActivityBarItem,
  expandTreeItem,
  launchBrowser,
  openWorkbench,
  runCommand,
  screenshot,
  sidebarTitle,
  treeRowTexts,
  typeInTerminal,
  viewPane,
  waitForTerminalText,
  waitForTreeItem,
  type Browser,
} from './helpers/browser';
import { packageFolder } from './helpers/vsix';

const FIXTURE = join(__dirname, 'fixtures', 'harness-extension');
let server: CodeServer;
let browser: Browser;
let vsix: string;

beforeAll(async () => {
  vsix = packageFolder(FIXTURE);
  server = await startCodeServer({ label: 'harness', vsix: [vsix], settings: { 'terminal.integrated.gpuAcceleration': 'off' } });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (vsix) rmSync(dirname(vsix), { recursive: true, force: true });
});

describe('e2e harness (fixture extension in code-server + headless Chromium)', () => {
  it('installs the .vsix into the throwaway extensions dir', () => {
    expect(listExtensions(server)).toContain('containers-lab-tests.harness-lab@0.0.1');
  });

  it('opens the workbench and the fixture view container from the activity bar', async () => {
    const { page } = browser;
    await openWorkbench(page, server.url);
    await screenshot(page, 'harness-01-workbench');
    await clickActivityBarItem(page, 'Harness Lab');
    expect(await sidebarTitle(page)).toMatch(/HARNESS LAB/i);
    await screenshot(page, 'harness-02-sidebar');
  });

  it('runs palette commands by title and sees tree items appear and expand', async () => {
    const { page } = browser;
    await runCommand(page, 'Harness Lab: Add Item');
    await runCommand(page, 'Harness Lab: Add Item');
    const pane = viewPane(page, 'Items');
    const second = await waitForTreeItem(pane, /^item-2$/);
    await expandTreeItem(second);
    await waitForTreeItem(pane, /^child-of-2$/);
    const rows = await treeRowTexts(pane);
    expect(rows).toEqual(expect.arrayContaining(['item-1', 'item-2', expect.stringMatching(/^child-of-2 pid \d+$/)]));
    await screenshot(page, 'harness-03-tree');
  });

  it('reads what a Pseudoterminal shows, after typing into it', async () => {
    const { page } = browser;
    await runCommand(page, 'Harness Lab: Open Terminal');
    await waitForTerminalText(page, /harness\$/);
    await typeInTerminal(page, 'hostname');
    const text = await waitForTerminalText(page, /you typed: hostname/);
    expect(text).toMatch(/harness\$ hostname/);
    await screenshot(page, 'harness-04-terminal');
  });
});

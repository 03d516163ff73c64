/*
 * Drives the VS Code workbench the way a learner does — activity bar, command palette, tree views,
 * terminals — in Debian's Chromium, headless, through playwright-core (no browser download).
 *
 * Selectors are the workbench's own accessibility surface wherever it has one (aria-labels of
 * activity-bar items and tree rows, the quick-input list), because those are what VS Code keeps
 * stable for screen readers. The terminal is read from xterm's DOM rows: the tests turn GPU
 * acceleration off so xterm renders rows as DOM text rather than into a canvas.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { REPO } from './code-server';

export const ARTIFACTS = join(REPO, 'test', 'artifacts', 'e2e');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Everything the page printed to its console (workbench errors show up here). */
  consoleLines: string[];
  close(): Promise<void>;
}

/** Chromium, headless, with a fresh profile (--user-data-dir) that is deleted on close. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'cl-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines: string[] = [];
  page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`));
  return {
    context,
    page,
    consoleLines,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the workbench (optionally on a folder and with a `payload`) and waits until it is usable. */
export async function openWorkbench(page: Page, url: string, options: { folder?: string; payload?: [string, string][] } = {}): Promise<void> {
  const target = new URL(url);
  if (options.folder) target.searchParams.set('folder', options.folder);
  if (options.payload) target.searchParams.set('payload', JSON.stringify(options.payload));
  await page.goto(target.toString());
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  await page.locator('.part.activitybar').waitFor({ state: 'visible', timeout: 60_000 });
  // The remote extension host is up once the status bar shows its items; give activation a moment.
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
}

/** Runs a command from the palette by its full title ("Containers Lab: Start busybox container"). */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input[type="text"], .quick-input-widget .quick-input-filter input').first();
  for (let attempt = 1; ; attempt++) {
    await page.locator('.monaco-workbench').click({ position: { x: 700, y: 5 } }).catch(() => undefined);
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 15_000 });
      await input.fill(`>${title}`, { timeout: 10_000 });
      break;
    } catch (error) {
      // The palette closed as it opened: something took the focus (the walkthrough opening, a
      // notification on a slow machine). Close whatever is left of it and open it again.
      if (attempt >= 3) throw error;
      await page.keyboard.press('Escape');
    }
  }
  // Pick the row whose label is exactly the title, not merely the first fuzzy match.
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await row.click();
  await paletteClosed(page, `>${title}`);
}

/**
 * Waits until the palette that ran a command has gone: the quick-input widget is hidden, or it
 * no longer holds the palette's text because the command opened its own quick pick in the same
 * widget ("Remove which container?"). Waiting for "hidden" alone sat out the full timeout in that
 * second case (15 s that looked like a slow command).
 */
async function paletteClosed(page: Page, paletteText: string): Promise<void> {
  const widget = page.locator('.quick-input-widget').first();
  const input = widget.locator('input[type="text"], .quick-input-filter input').first();
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (!(await widget.isVisible())) return;
    const value = await input.inputValue({ timeout: 1_000 }).catch(() => '');
    if (value !== paletteText) return;
    await page.waitForTimeout(20);
  }
}

/**
 * "Developer: Reload Window", as a learner reloads: VS Code saves its state (open panels and their
 * page state) before the page goes. A bare page.reload() can beat that save on a loaded machine,
 * and then no panel comes back. Resolves once the new workbench is visible.
 */
export async function reloadWindow(page: Page): Promise<void> {
  // A palette that lost its focus (a notification, the walkthrough) runs nothing: say it again once.
  for (const timeout of [45_000, 60_000]) {
    const reloaded = page.waitForEvent('load', { timeout }).then(() => true, () => false);
    // the page navigates away under the palette helper's last look: its complaint about that is moot
    await runCommand(page, 'Developer: Reload Window').catch(() => undefined);
    if (await reloaded) break;
    if (timeout === 60_000) throw new Error('"Developer: Reload Window" did not reload the page twice in a row');
  }
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
}

/**
 * Opens a view container from the activity bar by its aria-label (e.g. "Containers Lab"). One that
 * is already open is left as it is: a click on its icon would close the sidebar (the extension's
 * first start opens its own).
 */
export async function clickActivityBarItem(page: Page, label: string): Promise<void> {
  const item = page.locator(`.part.activitybar [aria-label="${label}"], .part.activitybar [aria-label^="${label} ("]`).first();
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  const tab = page.locator(`.part.activitybar li[role="tab"][aria-label="${label}"], .part.activitybar li[role="tab"][aria-label^="${label} ("]`).first();
  const open = (await tab.getAttribute('aria-selected', { timeout: 1_000 }).catch(() => null)) === 'true' && (await page.locator('.part.sidebar').isVisible());
  if (!open) await item.click();
  // Clicked just as the extension opened it itself: that click closed the sidebar again.
  await page.locator('.part.sidebar').waitFor({ state: 'visible', timeout: 2_000 }).catch(() => item.click());
}

/** The sidebar's title (e.g. "CONTAINERS LAB"), to check which view container is open. */
export async function sidebarTitle(page: Page): Promise<string> {
  const title = page.locator('.part.sidebar .composite.title h2, .part.sidebar .title-label h2').first();
  await title.waitFor({ state: 'visible', timeout: 15_000 });
  return (await title.innerText()).trim();
}

/** A section (view) of the sidebar by its title, e.g. "Containers". */
export function viewPane(page: Page, title: string): Locator {
  return page.locator('.part.sidebar .pane').filter({ has: page.locator('.pane-header', { hasText: new RegExp(`^\\s*${escapeRegExp(title)}`, 'i') }) });
}

/** Folds every other view of the sidebar so the tree of `title` has room (a tree renders only the rows that fit). */
export async function focusPane(page: Page, title: string): Promise<void> {
  const headers = page.locator('.part.sidebar .pane-header');
  const wanted = (text: string): boolean => new RegExp(`^${title}`, 'i').test(text.trim());
  // A click can be lost (a closing quick input takes it, a layout still settling): toggle what is
  // wrong, then look again, until every pane is as wanted.
  for (let attempt = 0; attempt < 5; attempt++) {
    let wrong = 0;
    const count = await headers.count();
    for (let index = 0; index < count; index++) {
      const header = headers.nth(index);
      const expanded = (await header.getAttribute('aria-expanded')) === 'true';
      if (expanded !== wanted(await header.innerText())) {
        wrong += 1;
        await header.click();
      }
    }
    if (wrong === 0) return;
    await page.waitForTimeout(300);
  }
  throw new Error(`the sidebar would not show only the ${title} view`);
}

/** Tree rows whose label matches; scoped to a view when given. */
export function treeItems(scope: Page | Locator, label: string | RegExp): Locator {
  const page = 'page' in scope && typeof scope.page === 'function' ? (scope as Locator).page() : (scope as Page);
  return scope.locator('.monaco-list-row[role="treeitem"]').filter({ has: page.locator('.label-name', { hasText: label }) });
}

/** Waits for a tree item by label and returns it. */
export async function waitForTreeItem(scope: Page | Locator, label: string | RegExp, timeout = 30_000): Promise<Locator> {
  const item = treeItems(scope, label).first();
  await item.waitFor({ state: 'visible', timeout });
  return item;
}

/** Expands a collapsed tree item (no-op if it is already expanded or is a leaf). */
export async function expandTreeItem(item: Locator, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while ((await item.getAttribute('aria-expanded')) === 'false') {
    if (Date.now() > deadline) throw new Error(`tree item ${await item.getAttribute('aria-label')} did not expand`);
    // The twistie toggles the node without running the item's own command (a row click would).
    await item.locator('.monaco-tl-twistie').click();
    await item.page().waitForTimeout(300);
  }
}

/** The visible rows of a tree item's descendants: label and description as the user reads them. */
export async function treeRowTexts(scope: Page | Locator): Promise<string[]> {
  return scope.locator('.monaco-list-row[role="treeitem"]').evaluateAll((rows) =>
    rows.map((row) => {
      const label = row.querySelector('.label-name')?.textContent ?? '';
      const description = row.querySelector('.label-description')?.textContent ?? '';
      return `${label}${description ? ` ${description}` : ''}`.trim();
    }),
  );
}

/** The text of the active terminal, row by row (xterm's DOM renderer). */
export async function terminalText(page: Page): Promise<string> {
  // With several terminals open, only the one shown is visible; the others stay in the DOM.
  const rows = page.locator('.xterm:visible .xterm-rows').first();
  await rows.waitFor({ state: 'attached', timeout: 15_000 });
  return rows.evaluate((element) => Array.from(element.children, (row) => (row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()).join('\n'));
}

/** Waits until the active terminal shows text matching `pattern`; returns the terminal's text. */
export async function waitForTerminalText(page: Page, pattern: RegExp, timeout = 20_000): Promise<string> {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = await terminalText(page).catch(() => '');
    if (pattern.test(text)) return text;
    await page.waitForTimeout(200);
  }
  throw new Error(`the terminal never showed ${pattern}; it shows:\n${text}`);
}

/** Types into the focused terminal (a line ends with Enter). */
export async function typeInTerminal(page: Page, line: string): Promise<void> {
  await page.locator('.xterm:visible').first().click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

/** Visible notification toasts' messages (errors from the extension surface here). */
export async function notificationMessages(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
}

/** Waits for a notification toast whose message matches; returns its text. */
export async function waitForNotification(page: Page, pattern: RegExp, timeout = 30_000): Promise<string> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const found = (await notificationMessages(page)).find((message) => pattern.test(message));
    if (found) return found;
    await page.waitForTimeout(200);
  }
  throw new Error(`no notification matching ${pattern}; shown: ${(await notificationMessages(page)).join(' | ')}`);
}

/** Saves a full-window screenshot to test/artifacts/e2e/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

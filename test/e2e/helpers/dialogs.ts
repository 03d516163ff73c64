/*
 * VS Code's modal dialogs (showWarningMessage with modal: true) and quick picks shown by an
 * extension, as a user answers them.
 */
import type { Page } from 'playwright-core';

export interface ModalDialog {
  message: string;
  detail: string;
}

/** Waits for a modal dialog and returns its text (message + detail). */
export async function waitForDialog(page: Page, timeout = 30_000): Promise<ModalDialog> {
  const box = page.locator('.monaco-dialog-box').first();
  await box.waitFor({ state: 'visible', timeout });
  const message = (await box.locator('.dialog-message-text').innerText().catch(() => '')).trim();
  const detail = (await box.locator('.dialog-message-detail').innerText().catch(() => '')).trim();
  return { message, detail };
}

/** Clicks a modal dialog's button by its label. */
export async function clickDialogButton(page: Page, label: string): Promise<void> {
  await page.locator('.monaco-dialog-box .dialog-buttons a.monaco-button, .monaco-dialog-box .dialog-buttons .monaco-button', { hasText: label }).first().click();
  await page.locator('.monaco-dialog-box').waitFor({ state: 'hidden', timeout: 15_000 });
}

/** If a quick pick is open, picks the row whose label is `label`; returns whether it did. */
export async function pickIfAsked(page: Page, label: string, timeout = 3_000): Promise<boolean> {
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: label }) }).first();
  try {
    await row.waitFor({ state: 'visible', timeout });
  } catch {
    return false;
  }
  await row.click();
  return true;
}

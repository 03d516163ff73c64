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

/**
 * Presses a modal dialog's button by its label, as a keyboard user does (focus, Enter): a hover
 * left by the mouse (a quick pick row, an editor tab) can sit over the dialog, which opens at the
 * top centre of the window, and swallow a click.
 */
export async function clickDialogButton(page: Page, label: string): Promise<void> {
  const button = page.locator('.monaco-dialog-box .dialog-buttons a.monaco-button, .monaco-dialog-box .dialog-buttons .monaco-button', { hasText: label }).first();
  await button.waitFor({ state: 'visible', timeout: 30_000 });
  await page.mouse.move(1, 1);
  await button.focus();
  await page.keyboard.press('Enter');
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
  await page.mouse.move(1, 1); // no hover of the row outlives the pick
  return true;
}

/*
 * The Exercises view and an Exercise panel as an e2e test reads them: the panel's frame, an
 * element's text, a lab's row in the tree (label + description, its icon's classes and colour),
 * and the agent's record of a lab's progress.
 */
import type { Frame, Locator, Page } from 'playwright-core';
import type { LabProgress } from '../../../agent/protocol';
import type { LabSession } from './lab-session';
import { viewPane, waitForTreeItem } from './browser';
import { waitForWebview } from './webview';

export interface TreeRow {
  text: string;
  /** The classes of the row's codicons (e.g. "codicon codicon-pass-filled"). */
  icon: string;
  /** The computed colour of its first icon. */
  colour: string;
}

export function exercisePage(session: () => LabSession): {
  exercisesPane: () => Locator;
  panel: (page: Page, title: string) => Promise<Frame>;
  text: (frame: Frame, selector: string) => Promise<string>;
  treeRow: (title: string) => Promise<TreeRow>;
  waitForTreeRow: (title: string, predicate: (row: TreeRow) => boolean, timeout?: number) => Promise<TreeRow>;
  progress: (id: string) => Promise<LabProgress>;
} {
  const exercisesPane = (): Locator => viewPane(session().page, 'Exercises');

  const panel = async (page: Page, title: string): Promise<Frame> => (await waitForWebview(page, { name: 'exercise', title: `Exercise: ${title}` }, 30_000)).frame;

  const text = async (frame: Frame, selector: string): Promise<string> => {
    const element = frame.locator(selector).first();
    await element.waitFor({ state: 'attached', timeout: 15_000 });
    return (await element.innerText()).trim();
  };

  const treeRow = async (title: string): Promise<TreeRow> => {
    const row = await waitForTreeItem(exercisesPane(), title, 30_000);
    const description = (await row.locator('.label-description').innerText().catch(() => '')).trim();
    const icons = row.locator('.monaco-tl-contents [class*="codicon-"]');
    const icon = await icons.evaluateAll((elements) => elements.map((element) => element.className).join(' '));
    const colour = await icons.first().evaluate((element) => getComputedStyle(element).color);
    return { text: `${title} ${description}`.trim(), icon, colour };
  };

  const waitForTreeRow = async (title: string, predicate: (row: TreeRow) => boolean, timeout = 20_000): Promise<TreeRow> => {
    const deadline = Date.now() + timeout;
    let row = await treeRow(title);
    while (!predicate(row)) {
      if (Date.now() > deadline) throw new Error(`tree row "${title}" stayed ${JSON.stringify(row)}`);
      await session().page.waitForTimeout(200);
      row = await treeRow(title);
    }
    return row;
  };

  const progress = async (id: string): Promise<LabProgress> => (await session().agent.client.call('lab.list', {})).find((lab) => lab.id === id)!.progress;

  return { exercisesPane, panel, text, treeRow, waitForTreeRow, progress };
}

/*
 * Images and a container's files in a real VS Code (code-server in headless Chromium, the
 * packaged extension, the agent reached over a loopback sshd): an image this file builds
 * (../helpers/runnable-images.ts: a base layer, a layer with a whiteout and an opaque directory, a
 * tool layer) is pushed to Debian's docker-registry on 127.0.0.1, then
 *   Pull Image… → the Images view shows repo:tag with the registry's digest, its layers base first;
 *   Run Image…  → a container of it; its Files node shows each entry's layer, the whiteout and the
 *                 opaque directory; a file opens read-only with the container's bytes; Download… saves it;
 *   Remove Image → refused in one line while the container stands on it, done once it is gone.
 * Every claim is checked against the agent's own answers and the layer directories on disk.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY, REGISTRY_FIX, startRegistry } from '../helpers/registry';
import type { TestRegistry } from '../helpers/registry';
import { buildRunnableImages, pushImage } from '../helpers/runnable-images';
import type { RunnableImages } from '../helpers/runnable-images';
import { onPath } from '../helpers/tools';
import { expandTreeItem, focusPane, notificationMessages, runCommand, screenshot, treeItems, treeRowTexts, viewPane, waitForNotification, waitForTreeItem } from './helpers/browser';
import { pickIfAsked } from './helpers/dialogs';
import { startLabSession, type LabSession } from './helpers/lab-session';

const tools = onPath('skopeo') && existsSync(REGISTRY);
if (!tools && process.env.CI === 'true') throw new Error(`docker-registry or skopeo missing: ${REGISTRY_FIX}`);

let session: LabSession;
let registry: TestRegistry;
let images: RunnableImages;
let scratch: string;
let APP = '';
let containerName = '';

const short = (digest: string): string => digest.slice(7, 19);

/** Types into the open input box (titled `title`) and presses Enter. */
async function answer(page: Page, title: RegExp, value: string): Promise<void> {
  const widget = page.locator('.quick-input-widget').filter({ has: page.locator('.quick-input-title', { hasText: title }) });
  await widget.waitFor({ state: 'visible', timeout: 30_000 });
  await widget.locator('input[type="text"], .quick-input-filter input').first().fill(value);
  await page.keyboard.press('Enter');
}

beforeAll(async () => {
  if (!tools) return;
  scratch = mkdtempSync('/tmp/cl-e2e-images-src-');
  images = buildRunnableImages(scratch, { tall: false });
  registry = await startRegistry(scratch, join(scratch, 'storage'));
  APP = `${registry.host}/lab/app:1`;
  await pushImage(images.layout.dir, 'app', APP);
  session = await startLabSession({ label: 'images' });
  await session.openWorkbench();
  await session.connect();
}, 240_000);

afterAll(async () => {
  await session?.close();
  await registry?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 120_000);

describe.skipIf(!tools)('Images view and Files in a real VS Code', () => {
  it('Pull Image… pulls from the registry on 127.0.0.1; the Images view shows repo:tag, digest and layers base first', async () => {
    const { page } = session;
    await runCommand(page, 'Containers Lab: Pull Image…');
    await answer(page, /Pull Image/, APP);
    await focusPane(page, 'Images');
    const pane = viewPane(page, 'Images');
    const node = await waitForTreeItem(pane, `${registry.host}/lab/app:1`, 90_000).catch(async (error: unknown) => {
      await screenshot(page, 'images-01-failed');
      // the first line is what CI's summary keeps: say there what the learner would have seen
      const notifications = (await notificationMessages(page)).join(' | ') || 'none';
      const listed = await session.agent.client.call('image.list', {}).then((list) => list.map((image) => image.name).join(', ') || 'no image', (failure: unknown) => String(failure));
      throw new Error(`no ${APP} row in the Images view; notifications: ${notifications}; the agent lists: ${listed}\n${String(error)}\n${session.diagnostics()}`);
    });
    const listed = (await session.agent.client.call('image.list', {})).find((image) => image.name === APP)!;
    expect(listed.digest).toBe(images.app.manifest.digest);
    expect((await treeRowTexts(pane))[0]).toMatch(new RegExp(`^${registry.host.replace(/\./g, '\\.')}/lab/app:1 ${short(listed.digest)} · `));
    await expandTreeItem(node);
    await expandTreeItem(await waitForTreeItem(pane, 'Layers (3)'));
    await waitForTreeItem(pane, /^layer 3 · /);
    const rows = (await treeRowTexts(pane)).filter((row) => row.startsWith('layer '));
    expect(rows.map((row) => row.split(' ').slice(0, 4).join(' '))).toEqual(images.app.layers.map((layer, index) => `layer ${index + 1} · ${short(layer.digest)}`));
    expect(rows[1]).toContain('RUN rm /etc/motd');
    await screenshot(page, 'images-01-pulled');
  });

  it('Run Image… starts a container of it (Entrypoint kept, Cmd replaced); the image lists it as a user', async () => {
    const { page } = session;
    await runCommand(page, 'Containers Lab: Run Image…');
    await pickIfAsked(page, `${registry.host}/lab/app:1`, 10_000);
    await answer(page, /^Run /, '/bin/sleep 300');
    const deadline = Date.now() + 60_000;
    let summary;
    while (!summary && Date.now() < deadline) {
      summary = (await session.containers()).find((entry) => entry.image === APP && entry.status !== 'creating');
      if (!summary) await page.waitForTimeout(200);
    }
    expect(summary, (await notificationMessages(page)).join(' | ')).toBeDefined();
    containerName = summary!.name;
    // Docker's rule: the command typed replaces the image's Cmd; its Entrypoint (/bin/echo from-entrypoint) stays.
    await expect.poll(async () => Buffer.from((await session.agent.client.call('container.logs', { id: summary!.id })).data, 'base64').toString(), { timeout: 20_000 })
      .toContain('from-entrypoint /bin/sleep 300');
    const record = await session.agent.client.call('container.inspect', { id: summary!.id });
    expect(record.rootfs!.lower).toEqual((await session.agent.client.call('image.inspect', { reference: APP })).layers.map((layer) => layer.directory).reverse());
    const pane = viewPane(page, 'Images');
    await expandTreeItem(await waitForTreeItem(pane, 'Used by (1)', 30_000));
    await waitForTreeItem(pane, containerName);
  });

  it('the Files node shows each entry\'s layer, the whiteout and the opaque directory; a file opens read-only; Download… saves its bytes where the user says', async () => {
    const { page } = session;
    await focusPane(page, 'Containers');
    const pane = viewPane(page, 'Containers');
    await expandTreeItem(await waitForTreeItem(pane, new RegExp(`^${containerName}$`)));
    await expandTreeItem(await waitForTreeItem(pane, /^Files$/));
    await expandTreeItem(await waitForTreeItem(pane, /^etc$/));
    await waitForTreeItem(pane, /^motd$/);
    const [base, changes] = images.app.layers;
    let rows = await treeRowTexts(pane);
    expect(rows).toContain(`motd deleted: whiteout in layer 2 · ${short(changes!.digest)}`);
    expect(rows).toContain(`passwd → ../usr/share/accounts/passwd layer 1 · ${short(base!.digest)}`);
    await (await waitForTreeItem(pane, /^etc$/)).locator('.monaco-tl-twistie').click();
    await expandTreeItem(await waitForTreeItem(pane, /^opt$/));
    const app = await waitForTreeItem(pane, /^app$/);
    rows = await treeRowTexts(pane);
    expect(rows).toContain(`app layer 2 · ${short(changes!.digest)} · opaque`);
    await expandTreeItem(app);
    await waitForTreeItem(pane, /^old\.txt$/);
    rows = await treeRowTexts(pane);
    expect(rows).toContain('old.txt hidden: opaque directory in layer 2 · ' + short(changes!.digest));
    expect(rows).toContain(`new.txt layer 2 · ${short(changes!.digest)} · 4 B`);
    await screenshot(page, 'images-02-files');

    // A click opens it read-only: the container's bytes, in an editor that refuses to type.
    const file = await waitForTreeItem(pane, /^new\.txt$/);
    await file.click();
    const editor = page.locator('.editor-instance .view-lines').first();
    await editor.waitFor({ state: 'visible', timeout: 20_000 });
    await expect.poll(async () => (await editor.innerText()).trim(), { timeout: 20_000 }).toBe('new');
    await editor.click();
    await page.keyboard.type('x');
    await page.waitForTimeout(500);
    expect((await editor.innerText()).trim()).toBe('new');
    await screenshot(page, 'images-03-open-file');

    // Download… on the row (its inline action): VS Code's save dialog (in the browser, its own
    // path box) takes where to, and the container's bytes land there.
    await file.hover();
    const download = file.locator('.action-label[aria-label="Download…"]');
    await download.waitFor({ state: 'visible', timeout: 10_000 });
    await download.click();
    // In the folder the dialog opens on (the workspace's): no directory to walk to, whose names
    // the dialog would complete while the path is typed.
    const destination = join(session.workspace, 'downloaded-new.txt');
    const dialog = page.locator('.quick-input-widget');
    await dialog.waitFor({ state: 'visible', timeout: 30_000 });
    const pathBox = dialog.locator('input[type="text"]').first();
    // The dialog first fills in its own starting path (the workspace's new.txt), then lists the
    // directory as the path changes, and takes no Enter while it is busy.
    await expect.poll(() => pathBox.inputValue(), { timeout: 15_000 }).toMatch(/\/new\.txt$/);
    for (let attempt = 0; attempt < 10 && (await dialog.isVisible()); attempt++) {
      if ((await pathBox.inputValue()) !== destination) await pathBox.fill(destination);
      await page.waitForTimeout(300);
      if ((await pathBox.inputValue()) !== destination) continue;
      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'hidden', timeout: 2_000 }).catch(() => undefined);
    }
    await expect
      .poll(() => (existsSync(destination) ? readFileSync(destination, 'utf8') : null), { timeout: 30_000, message: `the download never arrived:\n${session.diagnostics()}` })
      .toBe('new\n');
    await screenshot(page, 'images-03b-downloaded');
  });

  it('Remove Image is refused in one line while the container uses it, and removes it once the container is gone', async () => {
    const { page } = session;
    await runCommand(page, 'Containers Lab: Remove Image');
    await pickIfAsked(page, `${registry.host}/lab/app:1`, 10_000);
    const refusal = await waitForNotification(page, /is used by container/);
    expect(refusal).toMatch(new RegExp(`image .*lab/app:1 is used by container ${containerName}: remove it first`));
    expect((await session.agent.client.call('image.list', {})).map((image) => image.name)).toContain(APP);
    const summary = (await session.containers()).find((entry) => entry.name === containerName)!;
    await session.agent.client.call('container.remove', { id: summary.id, force: true });
    await runCommand(page, 'Containers Lab: Remove Image');
    await pickIfAsked(page, `${registry.host}/lab/app:1`, 10_000);
    await expect.poll(async () => (await session.agent.client.call('image.list', {})).map((image) => image.name), { timeout: 20_000 }).toEqual([]);
    await focusPane(page, 'Images');
    await expect.poll(async () => treeItems(viewPane(page, 'Images'), `${registry.host}/lab/app:1`).count(), { timeout: 20_000 }).toBe(0);
    await session.agent.client.call('image.prune', {});
    await screenshot(page, 'images-04-removed');
  });
});

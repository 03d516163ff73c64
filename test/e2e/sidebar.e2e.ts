/*
 * The learner's path, end to end, in a real VS Code (code-server 4.139.1 = VS Code 1.139, in
 * headless Chromium) with the packaged .vsix installed and settings pointing at a real OpenSSH
 * server on 127.0.0.1:
 *
 *   activity bar → "Containers Lab" sidebar → palette "Start busybox container" (connects over SSH,
 *   asks to trust the host key) → a container node whose Namespaces rows carry the kernel's inodes →
 *   "Open Shell in Container" → `hostname` in the terminal → "Remove Container" → node and kernel
 *   objects gone. Its PID 1 is a plain `sh` on a terminal (as `docker run -dit busybox`).
 *
 *   The guided start: each answer checked at its step (memory "1k" is refused there, with the
 *   reason); a start the agent refuses (more CPUs than the host has) offers "Edit and Retry",
 *   which opens the form again with every answer kept and the refused one marked.
 *
 * Every claim the UI makes is checked against the kernel (/proc/<pid>/ns/*, cgroup directories,
 * `ip -j link`) and against OpenSSH's own fingerprint, and a screenshot of each step is saved to
 * test/artifacts/e2e/.
 *
 * Isolation and cleanup: helpers/lab-session.ts (the agent service has its own state root and socket,
 * reached through the sshd; nothing of its containers may be left at the end).
 */
import { availableParallelism } from 'node:os';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRecord, ContainerSummary } from '../../agent/protocol';
import { hostLinkNames, leftovers, NONE_LEFT, nsInode, processExists } from '../helpers/kernel-witness';
import { opensshFingerprint } from '../helpers/sshd';
import {
  clickActivityBarItem,
  expandTreeItem,
  notificationMessages,
  runCommand,
  screenshot,
  sidebarTitle,
  treeItems,
  treeRowTexts,
  typeInTerminal,
  viewPane,
  waitForTerminalText,
  waitForTreeItem,
} from './helpers/browser';
import { listExtensions } from './helpers/code-server';
import { clickDialogButton, pickIfAsked, waitForDialog } from './helpers/dialogs';
import { startLabSession, type LabSession } from './helpers/lab-session';

const NAMESPACE_TYPES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'] as const;

let session: LabSession;

/** The one container this test starts, as the agent recorded it (for the kernel witnesses). */
let container: ContainerRecord | undefined;

/** Collapses the sidebar's views after `title` (more views, e.g. Exercises, leave the tree less room). */
async function collapseViewsBelow(page: Page, title: string): Promise<void> {
  const headers = page.locator('.part.sidebar .pane-header');
  const titles = (await headers.allInnerTexts()).map((text) => text.trim());
  const start = titles.findIndex((text) => new RegExp(`^${title}`, 'i').test(text));
  for (let index = start + 1; index < titles.length; index++) {
    const header = headers.nth(index);
    if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
  }
}

async function containersNow(): Promise<ContainerSummary[]> {
  return session.containers();
}

/** The quick input open now, once its title matches: its text field and the message under it. */
async function inputStep(page: Page, title: RegExp): Promise<{ input: Locator; message: () => Promise<string> }> {
  const widget = page.locator('.quick-input-widget').filter({ has: page.locator('.quick-input-title', { hasText: title }) });
  await widget.waitFor({ state: 'visible', timeout: 30_000 });
  const input = widget.locator('.quick-input-filter input, input[type="text"]').first();
  return { input, message: async () => (await widget.locator('.quick-input-message').innerText().catch(() => '')).trim() };
}

/** Types `value` into the step titled `title` and presses Enter. */
async function answer(page: Page, title: RegExp, value: string): Promise<void> {
  const { input } = await inputStep(page, title);
  await input.fill(value);
  await page.keyboard.press('Enter');
}

/** Presses Enter on the step titled `title` (its default, or the answer kept from the last try). */
async function accept(page: Page, title: RegExp): Promise<void> {
  await inputStep(page, title);
  await page.keyboard.press('Enter');
}

beforeAll(async () => {
  session = await startLabSession({ label: 'sidebar' });
});

afterAll(async () => {
  await session?.close();
});

describe('Containers Lab in a real VS Code (code-server + headless Chromium, loopback sshd)', () => {
  it('has the packaged extension installed', () => {
    expect(listExtensions(session.server).some((id) => id.startsWith('containers-lab.containers-lab@'))).toBe(true);
  });

  it('the activity-bar icon opens the "Containers Lab" sidebar with its three views', async () => {
    const { page } = session;
    await session.openWorkbench();
    await screenshot(page, 'sidebar-01-workbench');
    await clickActivityBarItem(page, 'Containers Lab');
    expect(await sidebarTitle(page)).toMatch(/^containers lab$/i);
    for (const view of ['Lab', 'Containers', 'Networks']) await viewPane(page, view).first().waitFor({ state: 'visible' });
    await screenshot(page, 'sidebar-02-sidebar-open');
  });

  it('"Start busybox container" connects over SSH (trusting the real host key) and shows the container', async () => {
    const { page } = session;
    await runCommand(page, 'Containers Lab: Start busybox container');
    // First connection: a modal asks to trust the host key; it must show OpenSSH's own fingerprint.
    const dialog = await waitForDialog(page, 60_000);
    await screenshot(page, 'sidebar-03-trust-host-key');
    expect(dialog.message).toMatch(/Trust the host key/);
    expect(dialog.detail).toContain(opensshFingerprint(join(session.work, 'sshd', 'host_key.pub')));
    await clickDialogButton(page, 'Trust and Connect');

    const containersPane = viewPane(page, 'Containers');
    const node = await waitForTreeItem(containersPane, /^busybox-\d+$/, 90_000).catch(async (error: unknown) => {
      await screenshot(page, 'sidebar-03-failed');
      throw new Error(`${String(error)}\nnotifications: ${(await notificationMessages(page)).join(' | ')}\n${session.diagnostics()}`);
    });
    const name = (await node.locator('.label-name').innerText()).trim();
    const summaries = await containersNow();
    const summary = summaries.find((entry) => entry.name === name);
    expect(summary, `the agent has no container "${name}" (it has: ${summaries.map((s) => s.name).join(', ')})`).toBeDefined();
    container = await session.agent.client.call('container.inspect', { id: summary!.id });
    expect(container.status).toBe('running');
    expect(processExists(container.pid!)).toBe(true);
    // PID 1 is a plain `sh`, on a terminal (a pseudo-terminal of the container's own /dev/pts)
    expect(readFileSync(`/proc/${container.pid}/cmdline`, 'utf8')).toBe('sh\0');
    expect(statSync(`/proc/${container.pid}/fd/0`).rdev >> 8).toBe(136);
    expect(container.config.process?.terminal).toBe(true);
    await screenshot(page, 'sidebar-04-container-node');

    // The first start unpacked the busybox image (this agent's state root is fresh): the Lab view
    // must say so, not "not unpacked yet" from the agent.info it read at connect.
    // (the views below Lab are folded while it is read: with five views its rows may not all fit)
    await collapseViewsBelow(page, 'Lab');
    const imageRow = async () => (await treeRowTexts(viewPane(page, 'Lab'))).find((row) => row.startsWith('Busybox image')) ?? '';
    const deadline = Date.now() + 10_000;
    while (/not unpacked/.test(await imageRow()) && Date.now() < deadline) await page.waitForTimeout(100);
    expect(await imageRow()).toBe(`Busybox image ${(await session.agent.client.call('agent.info', {})).image.path}`);
    // then the Containers view gets the room back (the steps below read its tree)
    const labHeader = viewPane(page, 'Lab').locator('.pane-header');
    if ((await labHeader.getAttribute('aria-expanded')) === 'true') await labHeader.click();
    const containersHeader = viewPane(page, 'Containers').locator('.pane-header');
    if ((await containersHeader.getAttribute('aria-expanded')) !== 'true') await containersHeader.click();
  });

  it('the container\'s Namespaces rows show the kernel\'s /proc/<pid>/ns/* inodes', async () => {
    const { page } = session;
    expect(container, 'no container from the previous step').toBeDefined();
    const pid = container!.pid!;
    // The tree renders only the rows that fit in its pane: fold every other view below it first.
    await collapseViewsBelow(page, 'Containers');
    const containersPane = viewPane(page, 'Containers');
    await expandTreeItem(await waitForTreeItem(containersPane, new RegExp(`^${container!.name}$`)));
    await expandTreeItem(await waitForTreeItem(containersPane, /^Namespaces$/));
    await waitForTreeItem(containersPane, /^uts: \d+$/);
    await screenshot(page, 'sidebar-05-namespaces');

    const rows = (await treeRowTexts(containersPane)).filter((row) => /^(cgroup|ipc|mnt|net|pid|user|uts): /.test(row));
    const shown = new Map(rows.map((row) => {
      const [, type, inode] = /^(\w+): (\d+|–)/.exec(row)!;
      return [type!, inode!] as const;
    }));
    expect([...shown.keys()].sort()).toEqual([...NAMESPACE_TYPES]);
    for (const type of NAMESPACE_TYPES) {
      expect(shown.get(type), `${type} inode in the tree vs /proc/${pid}/ns/${type}`).toBe(String(nsInode(pid, type)));
    }
    // "own" rows really are not the host's namespaces, "shared with host" rows really are
    // (this test process runs in the host's namespaces, as the agent does)
    for (const row of rows) {
      const type = row.split(':')[0]!;
      if (/ own$/.test(row)) expect(nsInode(pid, type), `${type} is shown as own but is the host's`).not.toBe(nsInode('self', type));
      if (/ shared with host$/.test(row)) expect(nsInode(pid, type), `${type} is shown as shared but is not the host's`).toBe(nsInode('self', type));
    }
    expect(rows.filter((row) => / own$/.test(row)).length, `rows: ${rows.join(' | ')}`).toBeGreaterThanOrEqual(5);
  });

  it('the Processes section shows PID 1 as the learner knows it: sh', async () => {
    const { page } = session;
    const containersPane = viewPane(page, 'Containers');
    // fold the namespaces (the tree renders only rows that fit), then open the processes
    const namespaces = await waitForTreeItem(containersPane, /^Namespaces$/);
    if ((await namespaces.getAttribute('aria-expanded')) === 'true') await namespaces.locator('.monaco-tl-twistie').click();
    await expandTreeItem(await waitForTreeItem(containersPane, /^Processes/));
    const pid = container!.pid!;
    await waitForTreeItem(containersPane, /^sh$/);
    const rows = await treeRowTexts(containersPane);
    expect(rows).toContain(`sh PID 1 (host ${pid}) · S`);
    await screenshot(page, 'sidebar-05b-processes');
  });

  it('"On This Host" lists the container under its maker, Containers Lab, with the kernel\'s namespace inodes', async () => {
    const { page } = session;
    const pid = container!.pid!;
    // only this view open: the tree renders just the rows that fit
    const headers = page.locator('.part.sidebar .pane-header');
    const titles = (await headers.allInnerTexts()).map((text) => text.trim());
    for (let index = 0; index < titles.length; index++) {
      const wanted = /^on this host/i.test(titles[index]!);
      const header = headers.nth(index);
      if (((await header.getAttribute('aria-expanded')) === 'true') !== wanted) await header.click();
    }
    const hostPane = viewPane(page, 'On This Host');
    await waitForTreeItem(hostPane, /^Containers Lab$/, 60_000);
    const entry = await waitForTreeItem(hostPane, new RegExp(`^${container!.name}$`));
    expect((await treeRowTexts(hostPane)).find((row) => row.startsWith(`${container!.name} `))).toMatch(new RegExp(`^${container!.name} PID ${pid} · running · own: `));
    await expandTreeItem(entry);
    await expandTreeItem(await waitForTreeItem(hostPane, /^Namespaces$/));
    await waitForTreeItem(hostPane, /^uts: \d+/);
    await screenshot(page, 'sidebar-05c-on-this-host');
    const rows = (await treeRowTexts(hostPane)).filter((row) => /^(cgroup|ipc|mnt|net|pid|user|uts): /.test(row));
    const shown = new Map(rows.map((row) => [row.split(':')[0]!, /^\w+: (\d+)/.exec(row)![1]!] as const));
    for (const type of NAMESPACE_TYPES) expect(shown.get(type), `${type} in On This Host vs /proc/${pid}/ns/${type}`).toBe(String(nsInode(pid, type)));
    // back to the Containers view for the steps below
    for (let index = 0; index < titles.length; index++) {
      const wanted = /^containers$/i.test(titles[index]!);
      const header = headers.nth(index);
      if (((await header.getAttribute('aria-expanded')) === 'true') !== wanted) await header.click();
    }
  });

  it('"Open Shell in Container" runs `hostname` in the container and the terminal shows it', async () => {
    const { page } = session;
    const name = container!.name;
    await runCommand(page, 'Containers Lab: Open Shell in Container');
    await pickIfAsked(page, name);
    await waitForTerminalText(page, /[#$]\s*$/m, 30_000);
    await typeInTerminal(page, 'hostname');
    const expected = container!.hostname ?? name;
    expect(expected).not.toBe(hostHostname());
    const text = await waitForTerminalText(page, new RegExp(`hostname\\s*\\n${expected}\\s*$`, 'm'), 20_000);
    await screenshot(page, 'sidebar-06-shell-hostname');
    expect(text).toContain(expected);
  });

  it('"Remove Container" makes the node disappear and the kernel objects go away', async () => {
    const { page } = session;
    const record = container!;
    const cgroupDirs = Object.values(record.cgroup?.directories ?? {});
    expect(cgroupDirs.length).toBeGreaterThan(0);
    expect(cgroupDirs.every((dir) => existsSync(dir))).toBe(true);
    expect(record.network.vethHost && hostLinkNames().includes(record.network.vethHost)).toBe(true);

    // Removal with the shell from the previous step still open: the node goes, and the shell's
    // terminal closes quietly: no "The terminal process terminated with exit code: 137" toast.
    expect(await page.locator('.xterm').count(), 'the shell terminal is open before removal').toBeGreaterThan(0);
    const commandStarted = Date.now();
    await runCommand(page, 'Containers Lab: Remove Container');
    const started = Date.now();
    await pickIfAsked(page, record.name);
    const containersPane = viewPane(page, 'Containers');
    await treeItems(containersPane, new RegExp(`^${record.name}$`)).first().waitFor({ state: 'detached', timeout: 60_000 });
    const removalMs = Date.now() - started;
    const totalMs = Date.now() - commandStarted;
    console.log(`removal with an open shell: ${removalMs} ms from the pick, ${totalMs} ms from the palette`);
    // Not a speed check (npm run bench measures that): an open shell must not make the removal wait
    // out the stop grace period (SIGTERM, then SIGKILL after 10 s), which it once did.
    expect(removalMs, `removal with an open shell took ${removalMs} ms after picking the container`).toBeLessThan(8_000);
    // the command itself has finished: its progress toast is gone
    await page.locator('.notifications-toasts .notification-list-item-message', { hasText: `removing ${record.name}` }).waitFor({ state: 'detached', timeout: 5_000 });
    await page.locator('.xterm').first().waitFor({ state: 'detached', timeout: 5_000 });
    // give a late error toast the time to show up
    await page.waitForTimeout(1_500);
    expect((await notificationMessages(page)).filter((message) => /exit code/i.test(message))).toEqual([]);
    await screenshot(page, 'sidebar-07-removed');

    expect(await containersNow()).toEqual([]);
    expect(existsSync(`/proc/${record.pid}`)).toBe(false);
    expect(cgroupDirs.filter((dir) => existsSync(dir))).toEqual([]);
    expect(hostLinkNames()).not.toContain(record.network.vethHost);
    expect(leftovers(session.stateRoot, [{ id: record.id, pid: record.pid }])).toEqual(NONE_LEFT);
  });

  it('the guided start refuses memory "1k" at its step with the reason, and keeps every answer for "Edit and Retry" after the agent refuses the start', async () => {
    const { page } = session;
    const tooMany = String(availableParallelism() + 1);
    await runCommand(page, 'Containers Lab: Start busybox container (guided)…');
    await answer(page, /\(1\/6\): name/, 'guided-box');
    await answer(page, /\(2\/6\): command/, 'sleep 1d');
    await accept(page, /\(3\/6\): namespaces/);
    // memory: "1k" parses (1000 bytes) but is below the agent's minimum — refused here, and Enter does not leave the step
    const memory = await inputStep(page, /\(4\/6\): memory/);
    await memory.input.fill('1k');
    await expect.poll(memory.message, { timeout: 10_000 }).toBe('1k is 1000 bytes: a container needs at least 4 MiB (4m), or a busybox shell cannot even start.');
    await screenshot(page, 'sidebar-08-guided-memory-refused');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(300);
    expect(await memory.input.isVisible()).toBe(true);
    await memory.input.fill('48m');
    await page.keyboard.press('Enter');
    // CPUs: well-formed, but only the lab host knows it has fewer — the agent refuses at the end
    await answer(page, /\(5\/6\): CPU and process limits/, tooMany);
    const pids = await inputStep(page, /\(5\/6\): CPU and process limits/);
    await expect.poll(() => pids.input.inputValue(), { timeout: 10_000 }).toBe(''); // the next box, under the same title
    await pids.input.fill('32');
    await page.keyboard.press('Enter');
    await accept(page, /\(6\/6\): network/);

    const toast = page.locator('.notifications-toasts .notification-list-item').filter({ hasText: 'Could not start "guided-box"' }).first();
    await toast.waitFor({ state: 'visible', timeout: 60_000 });
    expect(await toast.innerText()).toContain(`cpus "${tooMany}" exceeds this host's`);
    await screenshot(page, 'sidebar-09-guided-refused');
    await toast.locator('.monaco-button', { hasText: 'Edit and Retry' }).click();

    // the form again, every answer as it was; the refused one carries the agent's reason
    for (const [title, value] of [[/\(1\/6\): name/, 'guided-box'], [/\(2\/6\): command/, 'sleep 1d']] as const) {
      const step = await inputStep(page, title);
      expect(await step.input.inputValue()).toBe(value);
      await page.keyboard.press('Enter');
    }
    await accept(page, /\(3\/6\): namespaces/);
    const keptMemory = await inputStep(page, /\(4\/6\): memory/);
    expect(await keptMemory.input.inputValue()).toBe('48m');
    await page.keyboard.press('Enter');
    const cpus = await inputStep(page, /\(5\/6\): CPU and process limits/);
    expect(await cpus.input.inputValue()).toBe(tooMany);
    await expect.poll(cpus.message, { timeout: 10_000 }).toContain(`The agent refused "${tooMany}": cpus "${tooMany}" exceeds this host's`);
    await screenshot(page, 'sidebar-10-guided-retry');
    await cpus.input.fill('0.5');
    await page.keyboard.press('Enter');
    const keptPids = await inputStep(page, /\(5\/6\): CPU and process limits/);
    await expect.poll(() => keptPids.input.inputValue(), { timeout: 10_000 }).toBe('32');
    await page.keyboard.press('Enter');
    await accept(page, /\(6\/6\): network/);

    await waitForTreeItem(viewPane(page, 'Containers'), /^guided-box$/, 60_000);
    const summary = (await containersNow()).find((entry) => entry.name === 'guided-box')!;
    const record = await session.agent.client.call('container.inspect', { id: summary.id });
    expect(readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0')).toEqual(['sleep', '1d', '']);
    expect(readlinkSync(`/proc/${record.pid}/fd/0`)).toMatch(/^\/dev\/pts\/\d+$/);
    expect(record.cgroup?.limits).toMatchObject({ memoryBytes: 48 * 1024 * 1024, cpuQuotaUs: 50_000, pids: 32 });
    await screenshot(page, 'sidebar-11-guided-started');
    await session.agent.client.call('container.remove', { id: record.id, force: true });
  });
});

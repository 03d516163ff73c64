/*
 * "Start Lab VM" where the lab VM cannot start, as a learner meets it in a real VS Code
 * (code-server + headless Chromium, the packaged extension): the command must say in one line
 * what is missing and how to get it, not show a stack trace or hang.
 *
 *   - no Vagrant at all: a code-server whose PATH holds only its own Node (so no `vagrant`);
 *   - Vagrant without a provider that works: the real vagrant, told to use VirtualBox, which
 *     this machine does not have (skipped where VirtualBox is installed: it cannot fail then);
 *   - a workspace that is not the Containers Lab repository (no vm/Vagrantfile).
 *
 * The VM actually starting, stopping and being destroyed from the palette is tested in the real
 * VM job (test/vm-e2e/lab-command.vm.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { clickActivityBarItem, launchBrowser, notificationMessages, openWorkbench, runCommand, screenshot, type Browser } from './helpers/browser';
import { codeServerLauncher, REPO, startCodeServer, type CodeServer } from './helpers/code-server';
import { closeFirstStartWalkthrough } from './helpers/lab-session';
import { productVsix } from './helpers/vsix';
import { needsTool, onPath, VAGRANT_FIX } from '../helpers/tools';

const scratch = mkdtempSync(join(tmpdir(), 'cl-vm-commands-e2e-'));
let server: CodeServer | undefined;
let browser: Browser | undefined;

afterEach(async () => {
  await browser?.close();
  await server?.stop();
  browser = undefined;
  server = undefined;
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A code-server on the repository with the extension, its lab host the Vagrant VM, and `env`. */
async function openVsCode(env: Record<string, string>, folder = REPO): Promise<Page> {
  server = await startCodeServer({
    label: 'vm-commands',
    vsix: [productVsix()],
    folder,
    settings: { 'containersLab.target': 'vagrant', 'containersLab.connectOnStartup': false },
    env,
  });
  browser = await launchBrowser();
  await openWorkbench(browser.page, server.url);
  // a fresh profile is a first start: its walkthrough would take the focus from the palette
  await closeFirstStartWalkthrough(browser.page);
  // the sidebar's welcome text: the extension's contributions (and so its commands) are loaded
  await clickActivityBarItem(browser.page, 'Containers Lab');
  await browser.page.locator('.part.sidebar', { hasText: 'Not connected to a lab host' }).first().waitFor({ timeout: 60_000 });
  return browser.page;
}

/** Runs "Start Lab VM" and returns the error notification it shows. */
async function startLabVmError(page: Page): Promise<string> {
  await runCommand(page, 'Containers Lab: Start Lab VM');
  const toast = page.locator('.notifications-toasts .notification-list-item', { has: page.locator('.codicon-error') }).first();
  await toast.waitFor({ timeout: 120_000 });
  return (await toast.locator('.notification-list-item-message').innerText()).trim();
}

const needsVagrant = needsTool('vagrant', VAGRANT_FIX);

describe('"Start Lab VM" explains what is missing, in one line', () => {
  it('no Vagrant on PATH: says to install Vagrant and a provider, with the Debian packages', async () => {
    // code-server's launcher names its Node by full path, so PATH can hold only that folder. VS Code
    // would take the PATH of a login shell ($SHELL -ilc env, where /etc/profile puts /usr/bin back);
    // with no such shell it keeps the server's own environment.
    const node = /^exec "([^"]+)"/m.exec(readFileSync(codeServerLauncher(), 'utf8'))?.[1];
    expect(node, `the Node that ${codeServerLauncher()} runs`).toBeDefined();
    const nodeOnly = dirname(node!);
    expect(onPath('vagrant', nodeOnly), `no vagrant in ${nodeOnly}`).toBe(false);
    const page = await openVsCode({ PATH: nodeOnly, SHELL: join(scratch, 'no-login-shell') });
    const message = await startLabVmError(page);
    expect(message).toMatch(/^Vagrant is not installed \(no "vagrant" on PATH\): install Vagrant and a provider/);
    expect(message).toContain('apt-get install vagrant vagrant-libvirt');
    expect(message.split('\n')).toHaveLength(1);
    await screenshot(page, 'vm-commands-01-no-vagrant');
  });

  it.skipIf(onPath('VBoxManage'))('Vagrant but no VirtualBox: says to install it or use libvirt (the real vagrant fails)', async (context) => {
    if (!needsVagrant(context)) return;
    const page = await openVsCode({
      VAGRANT_DEFAULT_PROVIDER: 'virtualbox',
      // a throw-away Vagrant home and machine state: nothing of this machine's Vagrant is used or left
      VAGRANT_HOME: join(scratch, 'vagrant.d'),
      VAGRANT_DOTFILE_PATH: join(scratch, 'machines'),
      VAGRANT_CHECKPOINT_DISABLE: '1',
    });
    const message = await startLabVmError(page);
    expect(message).toMatch(/^VirtualBox is not installed: install it, or use libvirt/);
    expect(await notificationMessages(page)).not.toContainEqual(expect.stringMatching(/Error:|at .*\.js/));
    await screenshot(page, 'vm-commands-02-no-virtualbox');
  });

  it('a workspace without vm/Vagrantfile: says which folder to open', async () => {
    const page = await openVsCode({}, mkdtempSync(join(scratch, 'not-the-repo-')));
    expect(await startLabVmError(page)).toMatch(/^No lab VM here: open the Containers Lab repository folder \(the one with vm\/Vagrantfile\)/);
  });
});

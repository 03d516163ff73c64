/*
 * The learner's path, end to end, in a real VS Code (code-server 4.139.1 = VS Code 1.139, in
 * headless Chromium) with the packaged .vsix installed and settings pointing at a real OpenSSH
 * server on 127.0.0.1:
 *
 *   activity bar → "Containers Lab" sidebar → palette "Start busybox container" (connects over SSH,
 *   asks to trust the host key) → a container node whose Namespaces rows carry the kernel's inodes →
 *   "Open Shell in Container" → `hostname` in the terminal → "Remove Container" → node and kernel
 *   objects gone.
 *
 * Every claim the UI makes is checked against the kernel (/proc/<pid>/ns/*, cgroup directories,
 * `ip -j link`) and against OpenSSH's own fingerprint, and a screenshot of each step is saved to
 * test/artifacts/e2e/.
 *
 * Isolation: the agent service the extension talks to is started by this test with its own state
 * root and socket (the extension reaches it through the sshd: containersLab.agent.socketPath). The
 * extension's bootstrap still uploads its agent build into root's ~/.containers-lab/agent; a build
 * directory that was not there before is removed afterwards.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, hostname as hostHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRecord, ContainerSummary } from '../../agent/protocol';
import { hostLinkNames, leftovers, NONE_LEFT, nsInode, processExists, removeBridgeIfCreated } from '../helpers/kernel-witness';
import { startService, stopService, type RunningService } from '../helpers/service';
import { makeKey, opensshFingerprint, startSshd, type TestSshd } from '../helpers/sshd';
import {
  clickActivityBarItem,
  expandTreeItem,
  launchBrowser,
  notificationMessages,
  openWorkbench,
  runCommand,
  screenshot,
  sidebarTitle,
  treeItems,
  treeRowTexts,
  typeInTerminal,
  viewPane,
  waitForTerminalText,
  waitForTreeItem,
  type Browser,
} from './helpers/browser';
import { extensionHostLogs, listExtensions, startCodeServer, type CodeServer } from './helpers/code-server';
import { clickDialogButton, pickIfAsked, waitForDialog } from './helpers/dialogs';
import { productVsix } from './helpers/vsix';

const NAMESPACE_TYPES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'] as const;
const INSTALL_ROOT = join(homedir(), '.containers-lab', 'agent');

const work = mkdtempSync(join(tmpdir(), 'cl-e2e-sidebar-'));
const stateRoot = join(work, 'state');
const socketPath = join(work, 'run', 'agent.sock');
let sshd: TestSshd;
let agent: RunningService;
let server: CodeServer;
let browser: Browser;
let installRootExisted = false;
let buildsBefore = new Set<string>();
let removeLabBridge: () => void = () => undefined;

/** The one container this test starts, as the agent recorded it (for the kernel witnesses). */
let container: ContainerRecord | undefined;

async function containersNow(): Promise<ContainerSummary[]> {
  return agent.client.call('container.list', {});
}

beforeAll(async () => {
  const vsix = productVsix();
  mkdirSync(join(work, 'sshd'), { recursive: true });
  mkdirSync(join(work, 'run'), { recursive: true });
  mkdirSync(join(work, 'workspace'), { recursive: true });
  const hostKey = join(work, 'sshd', 'host_key');
  makeKey(hostKey, 'containers-lab-e2e-host');
  sshd = await startSshd(join(work, 'sshd'), hostKey);
  agent = await startService(stateRoot, socketPath);
  installRootExisted = existsSync(INSTALL_ROOT);
  buildsBefore = new Set(installRootExisted ? readdirSync(INSTALL_ROOT) : []);
  removeLabBridge = removeBridgeIfCreated('cl0');

  server = await startCodeServer({
    label: 'sidebar',
    vsix: [vsix],
    folder: join(work, 'workspace'),
    settings: {
      'containersLab.target': 'settings',
      'containersLab.ssh.host': '127.0.0.1',
      'containersLab.ssh.port': sshd.port,
      'containersLab.ssh.username': 'root',
      'containersLab.ssh.privateKeyPath': sshd.clientKey,
      'containersLab.agent.socketPath': socketPath,
      // xterm renders rows as DOM text (not a canvas) so the test can read the terminal
      'terminal.integrated.gpuAcceleration': 'off',
    },
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  if (server) {
    if (process.env.CONTAINERS_LAB_E2E_DEBUG) console.log(extensionHostLogs(server));
    await server.stop();
  }
  if (agent) {
    for (const summary of await containersNow().catch(() => [])) {
      await agent.client.call('container.remove', { id: summary.id, force: true }).catch(() => undefined);
    }
    await stopService(agent);
  }
  await sshd?.stop();
  // what the extension's bootstrap uploaded into root's home for this run
  if (!installRootExisted) rmSync(join(homedir(), '.containers-lab'), { recursive: true, force: true });
  else for (const entry of readdirSync(INSTALL_ROOT)) if (!buildsBefore.has(entry)) rmSync(join(INSTALL_ROOT, entry), { recursive: true, force: true });
  // the lab bridge, if this run's container was the one that made it
  removeLabBridge();
  rmSync(work, { recursive: true, force: true });
});

describe('Containers Lab in a real VS Code (code-server + headless Chromium, loopback sshd)', () => {
  it('has the packaged extension installed', () => {
    expect(listExtensions(server).some((id) => id.startsWith('containers-lab.containers-lab@'))).toBe(true);
  });

  it('the activity-bar icon opens the "Containers Lab" sidebar with its three views', async () => {
    const { page } = browser;
    await openWorkbench(page, server.url, { folder: join(work, 'workspace') });
    await screenshot(page, 'sidebar-01-workbench');
    await clickActivityBarItem(page, 'Containers Lab');
    expect(await sidebarTitle(page)).toMatch(/^containers lab$/i);
    for (const view of ['Lab', 'Containers', 'Networks']) await viewPane(page, view).first().waitFor({ state: 'visible' });
    await screenshot(page, 'sidebar-02-sidebar-open');
  });

  it('"Start busybox container" connects over SSH (trusting the real host key) and shows the container', async () => {
    const { page } = browser;
    await runCommand(page, 'Containers Lab: Start busybox container');
    // First connection: a modal asks to trust the host key; it must show OpenSSH's own fingerprint.
    const dialog = await waitForDialog(page, 60_000);
    await screenshot(page, 'sidebar-03-trust-host-key');
    expect(dialog.message).toMatch(/Trust the host key/);
    expect(dialog.detail).toContain(opensshFingerprint(join(work, 'sshd', 'host_key.pub')));
    await clickDialogButton(page, 'Trust and Connect');

    const containersPane = viewPane(page, 'Containers');
    const node = await waitForTreeItem(containersPane, /^busybox-\d+$/, 90_000).catch(async (error: unknown) => {
      await screenshot(page, 'sidebar-03-failed');
      throw new Error(`${String(error)}\nnotifications: ${(await notificationMessages(page)).join(' | ')}\n${extensionHostLogs(server).slice(-4000)}`);
    });
    const name = (await node.locator('.label-name').innerText()).trim();
    const summaries = await containersNow();
    const summary = summaries.find((entry) => entry.name === name);
    expect(summary, `the agent has no container "${name}" (it has: ${summaries.map((s) => s.name).join(', ')})`).toBeDefined();
    container = await agent.client.call('container.inspect', { id: summary!.id });
    expect(container.status).toBe('running');
    expect(processExists(container.pid!)).toBe(true);
    await screenshot(page, 'sidebar-04-container-node');

    // The first start unpacked the busybox image (this agent's state root is fresh): the Lab view
    // must say so, not "not unpacked yet" from the agent.info it read at connect.
    const imageRow = async () => (await treeRowTexts(viewPane(page, 'Lab'))).find((row) => row.startsWith('Busybox image')) ?? '';
    const deadline = Date.now() + 10_000;
    while (/not unpacked/.test(await imageRow()) && Date.now() < deadline) await page.waitForTimeout(100);
    expect(await imageRow()).toBe(`Busybox image ${(await agent.client.call('agent.info', {})).image.path}`);
  });

  it('the container\'s Namespaces rows show the kernel\'s /proc/<pid>/ns/* inodes', async () => {
    const { page } = browser;
    expect(container, 'no container from the previous step').toBeDefined();
    const pid = container!.pid!;
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

  it('"Open Shell in Container" runs `hostname` in the container and the terminal shows it', async () => {
    const { page } = browser;
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
    const { page } = browser;
    const record = container!;
    const cgroupDirs = Object.values(record.cgroup?.directories ?? {});
    expect(cgroupDirs.length).toBeGreaterThan(0);
    expect(cgroupDirs.every((dir) => existsSync(dir))).toBe(true);
    expect(record.network.vethHost && hostLinkNames().includes(record.network.vethHost)).toBe(true);

    // Removal with the shell from the previous step still open must be quick — from the palette
    // to the node gone well under 2 s (the agent and extension take ~0.1 s of it) — and the shell's
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
    expect(removalMs, `removal with an open shell took ${removalMs} ms after picking the container`).toBeLessThan(1_200);
    expect(totalMs, `palette → node gone took ${totalMs} ms`).toBeLessThan(2_000);
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
    expect(leftovers(stateRoot, [{ id: record.id, pid: record.pid }])).toEqual(NONE_LEFT);
  });
});

/*
 * The Container Anatomy webview in a real VS Code (code-server + headless Chromium, the packaged
 * .vsix, a loopback sshd and the real agent; see helpers/lab-session.ts):
 *
 *   palette "Show Container Anatomy" on a running container with limits → the page's namespace
 *   inodes are /proc/<pid>/ns/*'s, its limits are the cgroup files' contents, its process tree has
 *   the kernel's PIDs on both sides of the pid namespace, its pids chart rises when processes start
 *   inside, its "which layer?" answer turns from lower to upper (copied up) after a write inside,
 *   its network rows name the veth the kernel has on the bridge; after a window reload the panel
 *   comes back (serializer) and follows the lab again; removing the container shows "removed".
 *
 * Every value is compared with the kernel's own files, read by this test; screenshots go to
 * test/artifacts/e2e/anatomy-*.png.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRecord } from '../../agent/protocol';
import { ipJson, nsInode } from '../helpers/kernel-witness';
import { reloadWindow, runCommand, screenshot } from './helpers/browser';
import { pickIfAsked } from './helpers/dialogs';
import { startLabSession, type LabSession } from './helpers/lab-session';
import { execThroughAgent } from './helpers/agent-exec';
import { waitForWebview, waitInWebview } from './helpers/webview';

const NAMESPACE_TYPES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'] as const;
const ANATOMY = { name: 'anatomy' } as const;

let session: LabSession;
let record: ContainerRecord;

/** Runs a command in the container through the test's own agent client. */
function execInContainer(args: string[]): Promise<{ code: number; output: string }> {
  return execThroughAgent(session.agent.client, record.id, args);
}

async function anatomyFrame(page: Page): Promise<Frame> {
  return (await waitForWebview(page, ANATOMY, 30_000)).frame;
}

/** Text of one element in the page, waiting for it to exist. */
async function textIn(frame: Frame, selector: string): Promise<string> {
  const element = frame.locator(selector).first();
  await element.waitFor({ state: 'attached', timeout: 15_000 });
  return (await element.innerText()).trim();
}

beforeAll(async () => {
  session = await startLabSession({ label: 'anatomy' });
  await session.openWorkbench();
  await session.connect();
  const started = await session.agent.client.call('container.run', { name: 'e2e-anatomy', hostname: 'anatomy-e2e', memory: '48m', cpus: 0.5, pids: 64 });
  record = await session.agent.client.call('container.inspect', { id: started.id });
});

afterAll(async () => {
  await session?.close();
});

describe('Container Anatomy webview', () => {
  it('opens from the palette and shows the kernel\'s namespace inodes (/proc/<pid>/ns/*)', async () => {
    const { page } = session;
    await runCommand(page, 'Containers Lab: Show Container Anatomy');
    await pickIfAsked(page, record.name);
    const frame = await anatomyFrame(page);
    expect(await frame.title()).toBe(`Anatomy: ${record.name}`);
    await frame.locator('tr[data-ns="uts"] td.inode').filter({ hasText: /^\d+$/ }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'anatomy-01-open');
    const pid = record.pid!;
    for (const type of NAMESPACE_TYPES) {
      expect(await textIn(frame, `tr[data-ns="${type}"] td.inode`), `${type} inode vs /proc/${pid}/ns/${type}`).toBe(String(nsInode(pid, type)));
      const shared = await frame.locator(`tr[data-ns="${type}"]`).getAttribute('data-shared');
      expect(shared, `${type} shared-with-host mark`).toBe(String(nsInode(pid, type) === nsInode('self', type)));
    }
    // this container got six namespaces of its own; only user is the host's
    expect(await frame.locator('tr[data-ns][data-shared="true"]').count()).toBe(1);
  });

  it('shows each cgroup limit with its file, and the value is that file\'s content', async () => {
    const frame = await anatomyFrame(session.page);
    const cgroup = record.cgroup!;
    expect(await textIn(frame, 'tr[data-limit="memory"] td.file')).toBe(cgroup.files.memory);
    const memory = await textIn(frame, 'tr[data-limit="memory"] td.value');
    expect(memory).toBe(readFileSync(cgroup.files.memory!, 'utf8').trim());
    expect(memory).toBe(String(48 * 1024 * 1024));
    for (const limit of ['cpu', 'pids']) {
      const file = await textIn(frame, `tr[data-limit="${limit}"] td.file`);
      expect(await textIn(frame, `tr[data-limit="${limit}"] td.value`), file).toBe(readFileSync(file, 'utf8').trim());
    }
    expect(await textIn(frame, '#cgroup-path')).toBe(cgroup.path);
  });

  it('draws the process tree with PIDs inside and on the host', async () => {
    const frame = await anatomyFrame(session.page);
    const pid = record.pid!;
    const nspid = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^NSpid:\s*(.*)$/m)![1]!.trim().split(/\s+/).at(-1);
    const first = frame.locator(`li[data-pid="${pid}"]`);
    await first.waitFor({ timeout: 15_000 });
    expect(await first.getAttribute('data-nspid')).toBe(nspid);
    expect(nspid).toBe('1');
    // its child (the idle loop's sleep) is nested under it, with the kernel's parent link
    const children = await first.locator('li[data-pid]').evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-pid'))));
    expect(children.length).toBeGreaterThan(0);
    for (const child of children) expect(Number(readFileSync(`/proc/${child}/status`, 'utf8').match(/^PPid:\s*(\d+)/m)![1])).toBe(pid);
  });

  it('the pids chart rises when processes start in the container', async () => {
    const { page } = session;
    // wait for a few samples so "before" is a settled value
    const before = await waitInWebview(page, ANATOMY, () => {
      const chart = document.querySelector('[data-chart="pids"]');
      return chart && Number(chart.getAttribute('data-samples')) >= 2 ? Number(chart.getAttribute('data-latest')) : null;
    }, undefined, 30_000);
    await session.agent.client.call('exec.start', { id: record.id, args: ['sh', '-c', 'sleep 300 & sleep 300 & sleep 300 & wait'] });
    const after = await waitInWebview(page, ANATOMY, (floor: number) => {
      const latest = Number(document.querySelector('[data-chart="pids"]')?.getAttribute('data-latest'));
      return latest >= floor ? latest : null;
    }, before + 3, 15_000);
    const kernel = Number(readFileSync(record.cgroup!.files.pidsCurrent!, 'utf8').trim());
    expect(after).toBeGreaterThanOrEqual(before + 3);
    expect(kernel, 'pids.current now').toBe(after);
    const frame = await anatomyFrame(page);
    await frame.locator('[data-chart="pids"]').scrollIntoViewIfNeeded();
    await screenshot(page, 'anatomy-02-pids-chart');
  });

  it('answers "which layer?" and shows the copy-up after a write inside', async () => {
    const { page } = session;
    const frame = await anatomyFrame(page);
    const input = frame.locator('#path-input');
    await input.fill('/etc/passwd');
    await input.press('Enter'); // keyboard: the form submits
    await frame.locator('#path-result[data-layer="lower"]').waitFor({ timeout: 15_000 });
    expect(await frame.locator('#path-result').getAttribute('data-copied-up')).toBe('false');

    const write = await execInContainer(['sh', '-c', 'echo learner:x:1000:1000::/home:/bin/sh >> /etc/passwd']);
    expect(write.code).toBe(0);
    // re-asked with each sample: no click needed to see the file move to the upper layer
    await frame.locator('#path-result[data-layer="upper"][data-copied-up="true"]').waitFor({ timeout: 15_000 });
    expect(await textIn(frame, '#path-result')).toMatch(/copied up just now/);
    const upperPath = await textIn(frame, '#path-result tr:first-child td');
    expect(upperPath).toBe(`${record.rootfs!.upper}/etc/passwd`);
    expect(readFileSync(upperPath, 'utf8')).toContain('learner:x:1000'); // the kernel copied the file up
    expect(readFileSync(`${record.rootfs!.lower[0]}/etc/passwd`, 'utf8')).not.toContain('learner');
    await frame.locator('#filesystem').scrollIntoViewIfNeeded();
    await screenshot(page, 'anatomy-03-copy-up');
  });

  it('names the veth the kernel has on the bridge, and the mounts of the container', async () => {
    const frame = await anatomyFrame(session.page);
    const veth = await textIn(frame, 'tr[data-net="veth host end"] td');
    const bridge = await textIn(frame, 'tr[data-net="bridge"] td');
    const [link] = ipJson<{ ifname: string; master?: string }[]>(['link', 'show', 'dev', veth]);
    expect(link?.master, `ip -j link show ${veth}`).toBe(bridge);
    expect(await textIn(frame, 'tr[data-net="net namespace"] td')).toBe(String(nsInode(record.pid!, 'net')));
    // every mount target the kernel lists for the container is a row
    const targets = readFileSync(`/proc/${record.pid}/mountinfo`, 'utf8').trim().split('\n').map((line) => line.split(' ')[4]!);
    const rows = await frame.locator('tr[data-mount]').evaluateAll((items) => items.map((item) => item.getAttribute('data-mount')));
    expect([...rows].sort()).toEqual([...targets].sort());
    await frame.locator('#network').scrollIntoViewIfNeeded();
    await screenshot(session.page, 'anatomy-04-mounts-network');
  });

  it('comes back after a window reload and follows the lab again', async () => {
    const { page } = session;
    await reloadWindow(page);
    const frame = await anatomyFrame(page);
    expect(await frame.title()).toBe(`Anatomy: ${record.name}`);
    // after the reload the extension has no connection yet: the restored page says so and offers one
    const connect = frame.locator('#banner button', { hasText: 'Connect' });
    await connect.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await textIn(frame, '#banner')).toMatch(/Not connected/);
    await screenshot(page, 'anatomy-05-restored-not-connected');
    await connect.click();
    await frame.locator('#banner').waitFor({ state: 'hidden', timeout: 60_000 });
    await frame.locator('tr[data-ns="pid"] td.inode').filter({ hasText: String(nsInode(record.pid!, 'pid')) }).waitFor({ timeout: 30_000 });
    // sampling again: the charts fill with fresh samples
    await waitInWebview(page, ANATOMY, () => Number(document.querySelector('[data-chart="memory"]')?.getAttribute('data-samples')) >= 2, undefined, 15_000);
    await screenshot(page, 'anatomy-06-restored');
  });

  it('shows "removed" when the container is removed', async () => {
    const { page } = session;
    await session.agent.client.call('container.remove', { id: record.id, force: true });
    await waitInWebview(page, ANATOMY, () => document.body.dataset.status === 'removed' && document.getElementById('status')?.textContent, undefined, 15_000);
    const frame = await anatomyFrame(page);
    expect(await textIn(frame, '#status')).toBe('removed');
    expect(await textIn(frame, '#banner')).toMatch(/was removed/);
    expect(() => statSync(`/proc/${record.pid}`)).toThrow();
    await screenshot(page, 'anatomy-07-removed');
  });
});

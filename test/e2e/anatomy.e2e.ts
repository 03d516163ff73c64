/*
 * The Container Anatomy webview in a real VS Code (code-server + headless Chromium, the packaged
 * .vsix, a loopback sshd and the real agent; see helpers/lab-session.ts):
 *
 *   palette "Show Container Anatomy" on a running container with limits → the page's namespace
 *   inodes are /proc/<pid>/ns/*'s, its limits are the cgroup files' contents, its process tree has
 *   the kernel's PIDs on both sides of the pid namespace, its pids chart rises when processes start
 *   inside, its "which layer?" answer turns from lower to upper (copied up) after a write inside,
 *   its network rows name the veth the kernel has on the bridge; its Security section shows each
 *   protection as /proc/<pid>/status, /proc/keys and the cgroup show it, and "Try without" on seccomp —
 *   reached and pressed with the keyboard — starts a copy whose Seccomp is 0 and opens its Anatomy;
 *   the sticky header stays opaque above scrolled text and keeps focused buttons below it; the
 *   "copied up" badge and the state badges read at 4.5:1 or better in a dark and a light theme;
 *   after a window reload the panel comes back (serializer) and follows the lab again; removing the
 *   container shows "removed" over its last record (how it was), also after another reload.
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
const NAME = 'e2e-anatomy';
const ANATOMY = { name: 'anatomy', title: `Anatomy: ${NAME}` } as const;
const COPY = `${NAME}-no-seccomp`;

let session: LabSession;
let record: ContainerRecord;

/** Runs a command in the container through the test's own agent client. */
function execInContainer(args: string[]): Promise<{ code: number; output: string }> {
  return execThroughAgent(session.agent.client, record.id, args);
}

async function anatomyFrame(page: Page, timeout = 30_000): Promise<Frame> {
  return (await waitForWebview(page, ANATOMY, timeout)).frame;
}

/** After a window reload the panel waits for the extension host to start and revive it: slower on a busy machine. */
const REVIVAL_MS = 90_000;

/**
 * After a reload VS Code may bring another editor to the front (the walkthrough on a first start,
 * say); a panel in a background tab has no page. Bring the Anatomy tab forward, as a learner would.
 */
async function frontAnatomyTab(page: Page): Promise<void> {
  const tab = page.locator('.tabs-container .tab').filter({ hasText: new RegExp(`^\\s*Anatomy: ${NAME}\\s*$`) }).first();
  await tab.waitFor({ state: 'visible', timeout: 60_000 });
  await tab.click();
}

/** A field of /proc/<pid>/status, as the kernel writes it. */
function statusField(pid: number, name: string): string {
  return new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.trim();
}

/**
 * WCAG contrast of an element's text against what is behind it: its colour over the first
 * opaque background up its ancestors (translucent ones composited on the way).
 */
async function contrastOf(frame: Frame, selector: string): Promise<number> {
  // The page redraws some elements each second: one replaced mid-measurement is measured again.
  for (let attempt = 0; ; attempt++) {
    const ratio = await measureContrast(frame, selector).catch(() => null);
    if (ratio !== null) return ratio;
    if (attempt >= 10) throw new Error(`${selector} kept being replaced while measured`);
  }
}

function measureContrast(frame: Frame, selector: string): Promise<number | null> {
  return frame.locator(selector).first().evaluate((element) => {
    if (!element.isConnected) return null;
    // Any CSS colour (rgb(), color(srgb …), color-mix() results) to sRGB bytes and alpha, by painting one pixel.
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1;
    const context = canvas.getContext('2d', { willReadFrequently: true })!;
    const rgba = (text: string): number[] => {
      if (!text) throw new Error('no computed colour'); // a detached element's: measured again
      context.clearRect(0, 0, 1, 1);
      context.fillStyle = text;
      context.fillRect(0, 0, 1, 1);
      const [r, g, b, a] = context.getImageData(0, 0, 1, 1).data;
      return [r!, g!, b!, a! / 255];
    };
    const layers: number[][] = [];
    for (let node: Element | null = element; node; node = node.parentElement) {
      const colour = rgba(getComputedStyle(node).backgroundColor);
      if (colour[3]! > 0) layers.push(colour);
      if (colour[3] === 1) break;
    }
    const over = (top: number[], bottom: number[]): number[] => [0, 1, 2].map((i) => top[i]! * top[3]! + bottom[i]! * (1 - top[3]!)).concat(1);
    const background = layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
    const text = over(rgba(getComputedStyle(element).color), background);
    const luminance = (colour: number[]): number => {
      const [r, g, b] = colour.slice(0, 3).map((value) => {
        const channel = value / 255;
        return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    const [light, dark] = [luminance(text), luminance(background)].sort((a, b) => b - a);
    return element.isConnected ? (light! + 0.05) / (dark! + 0.05) : null;
  });
}

/** Switches the workbench's colour theme as a learner does ("Preferences: Color Theme") and waits for the page to follow. */
async function useTheme(theme: string, kind: 'vscode-light' | 'vscode-dark'): Promise<void> {
  const { page } = session;
  await runCommand(page, 'Preferences: Color Theme');
  const input = page.locator('.quick-input-widget .quick-input-filter input').first();
  await input.fill(theme);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${theme}$`) }) }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await row.click();
  await waitInWebview(page, ANATOMY, (expected: string) => document.body.classList.contains(expected), kind, 30_000);
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
  const started = await session.agent.client.call('container.run', { name: NAME, hostname: 'anatomy-e2e', memory: '48m', cpus: 0.5, pids: 64 });
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

  it('shows the Security section: each protection as the kernel reports it, and what it protects against', async () => {
    const frame = await anatomyFrame(session.page);
    const pid = record.pid!;
    const row = (protection: string) => `#security li[data-protection="${protection}"]`;
    await frame.locator(`${row('seccomp')}[data-on="true"]`).waitFor({ timeout: 15_000 });
    expect(await frame.locator('#security li[data-protection]').evaluateAll((items) => items.map((item) => item.getAttribute('data-protection')))).toEqual(['capabilities', 'seccomp', 'devices', 'keyring', 'noNewPrivileges', 'pids']);
    expect(statusField(pid, 'Seccomp')).toBe('2');
    expect(await textIn(frame, `${row('seccomp')} .security-value`)).toBe('Seccomp: 2 (filter) · the runtime\'s default profile (Docker-like)');
    expect(statusField(pid, 'CapEff')).toBe('00000000a80425fb');
    expect(await textIn(frame, `${row('capabilities')} .security-value`)).toBe('14 effective, 14 in the bounding set (Docker\'s default 14)');
    expect(readFileSync('/proc/keys', 'utf8')).toContain(` _ses.${record.id}: `);
    expect(await textIn(frame, `${row('keyring')} .security-value`)).toBe(`_ses.${record.id}: its own`);
    expect(await textIn(frame, `${row('noNewPrivileges')} .security-value`)).toBe(`NoNewPrivs: ${statusField(pid, 'NoNewPrivs')} (not set, as in Docker by default)`);
    expect(await textIn(frame, `${row('pids')} .security-value`)).toMatch(new RegExp(`^pids\\.max ${readFileSync(record.cgroup!.files.pids!, 'utf8').trim()} \\(\\d+ in use\\)$`));
    // The device rules the kernel holds: devices.list on this host's v1 hierarchy, an eBPF program on its v2 one.
    const rules = (await textIn(frame, `${row('devices')} .security-details`)).split('\n');
    expect(rules[0]).toBe('deny a');
    expect(rules).toContain('allow c 136:* rwm');
    if (record.cgroup!.files.devices) expect(readFileSync(record.cgroup!.files.devices, 'utf8')).toContain('c 136:* rwm');
    expect(await textIn(frame, `${row('devices')} .security-value`)).toMatch(/^12 rules, enforced by /);
    for (const protection of ['capabilities', 'seccomp', 'devices', 'keyring']) {
      expect(await textIn(frame, `${row(protection)} .protects`), protection).toMatch(/^[A-Z].{40,}\.$/);
      expect(await textIn(frame, `${row(protection)} button.try-without`)).toBe('Try without');
    }
    expect(await textIn(frame, '#security-heading + .explain')).toMatch(/^What root inside may do/);
    await frame.locator('#security').scrollIntoViewIfNeeded();
    await screenshot(session.page, 'anatomy-05-security');
  });

  it('keeps the sticky header opaque above scrolled text, and a focused button below it', async () => {
    const frame = await anatomyFrame(session.page);
    await frame.locator('#network').scrollIntoViewIfNeeded();
    const seen = await frame.evaluate(() => {
      const header = document.querySelector('header')!;
      const box = header.getBoundingClientRect();
      const covered = [0.02, 0.5, 0.98].flatMap((x) => [0.1, 0.5, 0.95].map((y) => {
        const hit = document.elementFromPoint(window.innerWidth * x, box.top + box.height * y);
        return hit !== null && header.contains(hit);
      }));
      return { top: box.top, left: box.left, width: box.width, innerWidth: window.innerWidth, scrolled: window.scrollY, background: getComputedStyle(header).backgroundColor, covered };
    });
    expect(seen.scrolled).toBeGreaterThan(0);
    expect(seen.top).toBe(0);
    expect(seen.left).toBe(0);
    expect(seen.width).toBe(seen.innerWidth); // edge to edge: no strip at the sides where text shows through
    expect(seen.background).toMatch(/^rgb\(/); // opaque
    expect(seen.covered.every(Boolean), JSON.stringify(seen)).toBe(true);
    // A button focused from the keyboard is scrolled to below the header, not under it.
    await frame.locator('#security button[data-protection="capabilities"]').focus();
    const gap = await frame.evaluate(() => document.activeElement!.getBoundingClientRect().top - document.querySelector('header')!.getBoundingClientRect().bottom);
    expect(gap).toBeGreaterThanOrEqual(0);
    await screenshot(session.page, 'anatomy-06-sticky-header');
  });

  it('reads the "copied up", "shared with host" and state badges at 4.5:1 or better in a dark and a light theme', async () => {
    const frame = await anatomyFrame(session.page);
    await frame.locator('#path-result .copied-up').waitFor({ timeout: 15_000 });
    const badges = ['#path-result .copied-up', '#path-result .layer-name', '#status', 'tr[data-shared="true"] .shared-badge', '#security .protection-on', '#security .protection-off', '#security button.try-without'];
    // VS Code 1.139's own defaults (the 2026 pair) and the Modern pair most learners still have.
    for (const [theme, kind] of [['Dark Modern', 'vscode-dark'], ['Light Modern', 'vscode-light'], ['Dark 2026', 'vscode-dark'], ['Light 2026', 'vscode-light']] as const) {
      await useTheme(theme, kind);
      const themed = await anatomyFrame(session.page);
      for (const badge of badges) expect(await contrastOf(themed, badge), `${badge} in ${theme}`).toBeGreaterThanOrEqual(4.5);
      await themed.locator('#filesystem').scrollIntoViewIfNeeded();
      await screenshot(session.page, `anatomy-07-badges-${theme.replace(/\s+/g, '-').toLowerCase()}`);
    }
    // (left on Light 2026: the workbench's own default here)
  });

  it('"Try without" seccomp, from the keyboard: a copy starts with Seccomp 0 and its Anatomy opens beside', async () => {
    const { page } = session;
    const frame = await anatomyFrame(page);
    // Tab from the header's button to the seccomp row's "Try without", then Enter.
    await frame.locator('#open-manifests').focus();
    for (let step = 0; step < 20; step++) {
      if ((await frame.evaluate(() => document.activeElement?.getAttribute('data-protection') ?? null)) === 'seccomp') break;
      await page.keyboard.press('Tab');
    }
    expect(await frame.evaluate(() => document.activeElement?.textContent)).toBe('Try without');
    await page.keyboard.press('Enter');
    const deadline = Date.now() + 90_000;
    let copy = (await session.containers()).find((summary) => summary.name === COPY);
    while ((!copy || copy.status !== 'running') && Date.now() < deadline) {
      await page.waitForTimeout(250);
      copy = (await session.containers()).find((summary) => summary.name === COPY);
    }
    expect(copy?.status, `no running ${COPY}\n${session.diagnostics()}`).toBe('running');
    // The kernel's word: the original under a filter, the copy under none.
    expect(statusField(record.pid!, 'Seccomp')).toBe('2');
    expect(statusField(copy!.pid!, 'Seccomp')).toBe('0');
    const copied = await session.agent.client.call('container.inspect', { id: copy!.id });
    expect(copied.config.annotations!['lab.containers.seccomp']).toBe('unconfined');
    expect(copied.cgroup!.limits).toEqual(record.cgroup!.limits); // otherwise the same container
    // Its Anatomy opens beside this one and says so too.
    const beside = await waitForWebview(page, { name: 'anatomy', title: `Anatomy: ${COPY}` }, 30_000);
    await beside.frame.locator('#security li[data-protection="seccomp"][data-on="false"]').waitFor({ timeout: 30_000 });
    expect((await beside.frame.locator('#security li[data-protection="seccomp"] .security-value').innerText()).trim()).toBe('Seccomp: 0 (none) · no profile (unconfined)');
    expect((await beside.frame.locator('#security li[data-protection="seccomp"] button').innerText()).trim()).toBe('Try with');
    await screenshot(page, 'anatomy-08-try-without-seccomp');
    // The original's buttons work again once the copy runs.
    await frame.locator('#security button[data-protection="seccomp"]:not([disabled])').waitFor({ timeout: 15_000 });
    // Close the copy's panel (the active editor) and the copy itself: the rest is about the original.
    await runCommand(page, 'View: Close Editor');
    await session.agent.client.call('container.remove', { id: copy!.id, force: true });
  });

  it('comes back after a window reload and follows the lab again', async () => {
    const { page } = session;
    await reloadWindow(page);
    await frontAnatomyTab(page);
    const frame = await anatomyFrame(page, REVIVAL_MS);
    expect(await frame.title()).toBe(`Anatomy: ${record.name}`);
    // after the reload the extension has no connection yet: the restored page says so and offers one
    const connect = frame.locator('#banner button', { hasText: 'Connect' });
    await connect.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await textIn(frame, '#banner')).toMatch(/Not connected/);
    await screenshot(page, 'anatomy-09-restored-not-connected');
    await connect.click();
    await frame.locator('#banner').waitFor({ state: 'hidden', timeout: 60_000 });
    await frame.locator('tr[data-ns="pid"] td.inode').filter({ hasText: String(nsInode(record.pid!, 'pid')) }).waitFor({ timeout: 30_000 });
    // sampling again: the charts fill with fresh samples
    await waitInWebview(page, ANATOMY, () => Number(document.querySelector('[data-chart="memory"]')?.getAttribute('data-samples')) >= 2, undefined, 15_000);
    await screenshot(page, 'anatomy-10-restored');
  });

  it('shows "removed" over the last record it had — how it was — also after a window reload', async () => {
    const { page } = session;
    const pidInode = String(nsInode(record.pid!, 'pid'));
    await session.agent.client.call('container.remove', { id: record.id, force: true });
    await waitInWebview(page, ANATOMY, () => document.body.dataset.status === 'removed' && document.getElementById('status')?.textContent, undefined, 15_000);
    const frame = await anatomyFrame(page);
    expect(await textIn(frame, '#status')).toBe('removed');
    expect(await textIn(frame, '#banner')).toMatch(/was removed: .* What is shown is how it was\./);
    expect(() => statSync(`/proc/${record.pid}`)).toThrow();
    // Not empty sections: the process tree, the namespaces and the security rows as they last were.
    const lastSeen = async (shown: Frame): Promise<void> => {
      await shown.locator(`li[data-pid="${record.pid}"]`).waitFor({ state: 'attached', timeout: 15_000 });
      expect(await textIn(shown, 'tr[data-ns="pid"] td.inode')).toBe(pidInode);
      expect(await textIn(shown, '#security li[data-protection="seccomp"] .security-value')).toMatch(/^Seccomp: 2 \(filter\)/);
      expect(await shown.locator('#security button.try-without:not([disabled])').count()).toBe(0);
      expect(await textIn(shown, '#status')).toBe('removed');
    };
    await lastSeen(frame);
    await screenshot(page, 'anatomy-11-removed');
    await reloadWindow(page);
    await frontAnatomyTab(page);
    const revived = await anatomyFrame(page, REVIVAL_MS).catch((error: Error) => {
      throw new Error(`${error.message}\n${session.diagnostics()}`);
    });
    await lastSeen(revived);
    expect(await textIn(revived, '#banner')).toMatch(/What is shown is how it was\./);
    await screenshot(page, 'anatomy-12-removed-after-reload');
  });
});

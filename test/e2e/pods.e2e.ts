/*
 * Pods in a real VS Code (code-server in headless Chromium, the packaged extension, the agent
 * reached over a loopback sshd), as a learner works with Pod YAML:
 *   Apply Pod YAML from the editor → the Pods view shows the pod (status, ready, QoS class, IP);
 *     unfolded, its init and app containers and the sandbox's namespaces — and the kernel agrees:
 *     /proc/PID/ns/net of both containers is the sandbox's;
 *   Describe Pod opens `describe pod` read-only; Show Pod Logs reads a container's output;
 *   Show Pod Manifests: the Pod YAML beside each container's config.json (the agent's) and cgroup
 *     paths (the kernel's: /proc/PID/cgroup, cgroup.procs), tabs reachable by keyboard;
 *   a broken Pod YAML → a diagnostic on the offending line (Problems panel), nothing created; fixed
 *     and applied from the editor title → the diagnostic is gone;
 *   Delete Pod → the rows go, the agent has no pod or container left, the processes are gone.
 * The session's close checks the kernel for anything left of the containers the agent reported.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { PodRecord } from '../../agent/protocol';
import { nsInode, processExists } from '../helpers/kernel-witness';
import {
  expandTreeItem, focusPane, runCommand, screenshot, terminalText, treeItems, treeRowTexts, viewPane, waitForNotification, waitForTreeItem,
} from './helpers/browser';
import { startLabSession, type LabSession } from './helpers/lab-session';
import { waitForWebview } from './helpers/webview';

const BRIDGE = 'clpvsc0';
const SUBNET_PREFIX = '10.219.47.';

const TALK = `apiVersion: v1
kind: Pod
metadata:
  name: talk
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: setup
    image: busybox
    command: ["sh", "-c", "echo init done"]
  containers:
  - name: one
    image: busybox
    command: ["sh", "-c", "echo one says hi; exec sleep 600"]
    resources:
      requests:
        memory: 16Mi
  - name: two
    image: busybox
    command: ["sleep", "600"]
`;

/** Line 9 names a field core/v1 has not got. */
const BROKEN = `apiVersion: v1
kind: Pod
metadata:
  name: fixme
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    imagePullPolicyy: Always
    image: busybox
    command: ["sleep", "600"]
`;
const FIXED = BROKEN.replace('    imagePullPolicyy: Always\n', '    imagePullPolicy: IfNotPresent\n');

let session: LabSession;
const pids: number[] = [];

/** Opens a workspace file in the editor through Quick Open, as a user types its name. */
async function openFile(page: Page, name: string): Promise<void> {
  await page.locator('.monaco-workbench').click({ position: { x: 700, y: 5 } }).catch(() => undefined);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input[type="text"], .quick-input-widget .quick-input-filter input').first();
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(name);
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${name.replace(/\./g, '\\.')}$`) }) }).first();
  await row.waitFor({ state: 'visible', timeout: 20_000 });
  await row.click();
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor({ state: 'visible', timeout: 15_000 });
}

/** The text of the visible editor that contains `marker`. */
function editorWith(page: Page, marker: string) {
  return page.locator('.editor-group-container .monaco-editor .view-lines').filter({ hasText: marker }).first();
}

/** The Problems panel's rows: "message … [Ln 9, Col 5]" as VS Code lists a file's diagnostics. */
async function problemRows(page: Page): Promise<string[]> {
  return page.locator('.markers-panel .monaco-list-row').allInnerTexts().then((rows) => rows.map((row) => row.replace(/\s+/g, ' ').trim()));
}

async function podNow(name: string): Promise<PodRecord> {
  return session.agent.client.call('pod.get', { name });
}

beforeAll(async () => {
  session = await startLabSession({ label: 'pods', bridges: [BRIDGE], agentEnv: { CONTAINERS_LAB_BRIDGE: BRIDGE, CONTAINERS_LAB_SUBNET: `${SUBNET_PREFIX}0/24` } });
  writeFileSync(join(session.workspace, 'talk.yaml'), TALK);
  writeFileSync(join(session.workspace, 'fixme.yaml'), BROKEN);
  session.agent.client.on('container.changed', (change) => {
    if (change.summary.pid) pids.push(change.summary.pid);
  });
  await session.openWorkbench();
  await session.connect();
}, 240_000);

afterAll(async () => {
  for (const pod of (await session?.agent.client.call('pod.list', {}).catch(() => [])) ?? []) {
    await session.agent.client.call('pod.delete', { name: pod.name, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
  await session?.close();
}, 120_000);

describe('Pods view and Apply Pod YAML in a real VS Code', () => {
  it('Apply Pod YAML sends the editor\'s text; the Pods view shows the pod with status, ready, QoS class and IP', async () => {
    const { page } = session;
    await openFile(page, 'talk.yaml');
    await runCommand(page, 'Containers Lab: Apply Pod YAML');
    // The apply reveals the pod in its view: fold the others only after that, or a click could fold it again.
    await waitForNotification(page, /pod\/talk created: Running/, 60_000);
    await focusPane(page, 'Pods');
    const pane = viewPane(page, 'Pods');
    const node = await waitForTreeItem(pane, /^talk$/, 60_000).catch(async (error: unknown) => {
      await screenshot(page, 'pods-01-failed');
      throw new Error(`${String(error)}\n${session.diagnostics()}`);
    });
    await expect.poll(async () => (await treeRowTexts(pane))[0], { timeout: 60_000 }).toMatch(/^talk Running · 2\/2 ready · Burstable · /);
    const pod = await podNow('talk');
    expect(pod.status.podIP?.startsWith(SUBNET_PREFIX)).toBe(true);
    expect((await treeRowTexts(pane))[0]).toBe(`talk Running · 2/2 ready · Burstable · ${pod.status.podIP}`);
    await waitForNotification(page, /pod\/talk created: Running/);
    await screenshot(page, 'pods-01-applied');
    expect(node).toBeDefined();
  });

  it("unfolded: init and app containers with state and restarts; the sandbox's net is both containers' — as /proc/PID/ns/net says", async () => {
    const { page } = session;
    const pane = viewPane(page, 'Pods');
    await expandTreeItem(await waitForTreeItem(pane, /^talk$/));
    await waitForTreeItem(pane, 'Sandbox namespaces');
    const rows = await treeRowTexts(pane);
    expect(rows).toContain('init: setup Terminated: Completed (exit 0) · 0 restarts');
    expect(rows).toContain('one Running · ready · 0 restarts');
    expect(rows).toContain('two Running · ready · 0 restarts');

    const pod = await podNow('talk');
    const sandboxPid = pod.sandbox!.pid!;
    const containers = await Promise.all(pod.status.containerStatuses.map((status) => session.agent.client.call('container.inspect', { id: status.containerID! })));
    const net = nsInode(sandboxPid, 'net');
    // the kernel's view: each app container's process is in the sandbox's network namespace, with a mount namespace of its own
    expect(containers.map((record) => nsInode(record.pid!, 'net'))).toEqual([net, net]);
    expect(new Set([sandboxPid, ...containers.map((record) => record.pid!)].map((pid) => nsInode(pid, 'mnt'))).size).toBe(3);

    await expandTreeItem(await waitForTreeItem(pane, 'Sandbox namespaces'));
    await waitForTreeItem(pane, /^net: \d+$/);
    const shown = await treeRowTexts(pane);
    expect(shown).toContain(`net: ${net} shared by one, two`);
    expect(shown).toContain(`ipc: ${nsInode(sandboxPid, 'ipc')} shared by one, two`);
    expect(shown).toContain(`mnt: ${nsInode(sandboxPid, 'mnt')} the sandbox only`);
    await screenshot(page, 'pods-02-unfolded');
    await (await waitForTreeItem(pane, 'Sandbox namespaces')).locator('.monaco-tl-twistie').click();
  });

  it('Describe Pod opens `describe pod` read-only; Show Pod Logs reads a container\'s output', async () => {
    const { page } = session;
    const pane = viewPane(page, 'Pods');
    const node = await waitForTreeItem(pane, /^talk$/);
    await node.hover();
    await node.locator('.action-label[aria-label="Describe Pod"]').click();
    const described = editorWith(page, 'Sandbox:');
    await described.waitFor({ state: 'visible', timeout: 20_000 }).catch(async (error: unknown) => {
      await screenshot(page, 'pods-03-failed');
      throw error;
    });
    await page.locator('.tabs-container .tab.active', { hasText: 'talk' }).waitFor({ state: 'visible', timeout: 5_000 });
    const text = await described.innerText();
    // the top of kubectl's describe: the pod, its phase, and the cgroup its QoS class put it in
    expect(text).toMatch(/Name:\s+talk/);
    expect(text).toMatch(/Status:\s+Running/);
    expect(text).toMatch(/Cgroup:\s+\S*kubepods\/burstable\/pod[0-9a-f-]+/);
    await described.click();
    await page.keyboard.type('x');
    await page.waitForTimeout(500);
    expect(await described.innerText()).toBe(text);
    await screenshot(page, 'pods-03-describe');

    const one = await waitForTreeItem(pane, /^one$/);
    await one.hover();
    await one.locator('.action-label[aria-label="Show Pod Logs"]').click();
    await page.locator('.terminal-tab, .single-terminal-tab, .tabs-list .monaco-list-row', { hasText: 'Logs: talk/one' }).first().waitFor({ state: 'visible', timeout: 20_000 }).catch(() => undefined);
    await expect.poll(() => terminalText(page).catch(() => ''), { timeout: 20_000 }).toContain('one says hi');
  });

  it('Show Pod Manifests: the Pod YAML beside each container\'s config.json and cgroup paths — the agent\'s documents, the kernel\'s cgroups', async () => {
    const { page } = session;
    const pane = viewPane(page, 'Pods');
    const node = await waitForTreeItem(pane, /^talk$/);
    await node.hover();
    await node.locator('.action-label[aria-label^="Show Pod Manifests"]').click();
    const { frame, locator } = await waitForWebview(page, { name: 'manifests', title: 'Manifests: pod/talk' }, 30_000);
    await frame.locator('body[data-ready="true"]').waitFor({ timeout: 30_000 });
    // the page's CSP: only our nonce'd script runs
    expect(await frame.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toMatch(/script-src 'nonce-[^']+'(;|$)/);
    const pod = await podNow('talk');
    const shown = parse(await frame.locator('#pod-yaml').innerText()) as { kind: string; metadata: { name: string; uid: string }; spec: { initContainers: { name: string }[]; containers: { name: string }[] } };
    expect(shown).toMatchObject({ kind: 'Pod', metadata: { name: 'talk', uid: pod.uid } });
    expect(shown.spec.containers.map((c) => c.name)).toEqual(['one', 'two']);
    expect(await frame.locator('#container-tabs [role="tab"]').allInnerTexts()).toEqual(['init: setup', 'one', 'two']);

    // A container's tab: its config.json as the agent holds it, and the cgroup the kernel has its process in.
    const configOf = async (name: string) => {
      const id = pod.status.containerStatuses.find((status) => status.name === name)!.containerID!;
      return session.agent.client.call('container.inspect', { id });
    };
    await locator.locator('#container-tabs [data-container="one"]').click();
    await frame.locator('#container-panel[data-container="one"]').waitFor({ timeout: 10_000 });
    const one = await configOf('one');
    expect(JSON.parse(await frame.locator('#config-json').innerText())).toEqual(one.config);
    const cgroupPath = (await frame.locator('#cgroup-paths td[data-field="path"]').innerText()).trim();
    expect(cgroupPath).toContain(`kubepods/burstable/pod${pod.uid}/talk.one.0`);
    expect(readFileSync(`/proc/${one.pid}/cgroup`, 'utf8')).toContain(cgroupPath);
    const directories = await frame.locator('#cgroup-paths td[data-controller]').allInnerTexts();
    expect(directories.length).toBeGreaterThan(0);
    for (const directory of directories) expect(readFileSync(`${directory.trim()}/cgroup.procs`, 'utf8').split('\n')).toContain(String(one.pid));
    await screenshot(page, 'pods-03b-manifests');

    // Keyboard: → moves to the next container's tab, and the panel follows.
    await locator.locator('#container-tabs [data-container="one"]').focus();
    await page.keyboard.press('ArrowRight');
    await frame.locator('#container-panel[data-container="two"]').waitFor({ timeout: 10_000 });
    expect(await frame.locator('#container-tabs [aria-selected="true"]').innerText()).toBe('two');
    expect(JSON.parse(await frame.locator('#config-json').innerText())).toEqual((await configOf('two')).config);
    await runCommand(page, 'View: Close Editor');
  });

  it('a broken Pod YAML gives a diagnostic on the offending line and creates nothing; fixed and applied from the editor title, it is cleared', async () => {
    const { page } = session;
    await openFile(page, 'fixme.yaml');
    await runCommand(page, 'Containers Lab: Apply Pod YAML');
    await waitForNotification(page, /The Pod "fixme" is invalid: fixme\.yaml:9: spec\.containers\[0\]\.imagePullPolicyy/);
    await page.keyboard.press('Control+Shift+M');
    await expect.poll(() => problemRows(page), { timeout: 20_000 }).toContainEqual(expect.stringMatching(/unknown field "spec\.containers\[0\]\.imagePullPolicyy".*\[Ln 9, Col 5\]/));
    expect((await problemRows(page)).filter((row) => /\[Ln \d+, Col \d+\]/.test(row))).toHaveLength(1);
    expect((await session.agent.client.call('pod.list', {})).map((pod) => pod.name)).toEqual(['talk']);
    // the squiggle is on that key in the editor
    const squiggle = page.locator('.editor-group-container .monaco-editor .squiggly-error').first();
    await squiggle.waitFor({ state: 'attached', timeout: 10_000 });
    await screenshot(page, 'pods-04-diagnostic');

    // Fixed on disk (the editor follows the file), then applied with the editor title's button.
    writeFileSync(join(session.workspace, 'fixme.yaml'), FIXED);
    await editorWith(page, 'imagePullPolicy: IfNotPresent').waitFor({ state: 'visible', timeout: 20_000 });
    await page.locator('.editor-actions .action-label[aria-label^="Apply Pod YAML"]').first().click();
    await expect.poll(async () => (await session.agent.client.call('pod.list', {})).map((pod) => pod.name).sort(), { timeout: 30_000 }).toEqual(['fixme', 'talk']);
    await expect.poll(async () => (await problemRows(page)).filter((row) => /\[Ln \d+, Col \d+\]/.test(row)), { timeout: 20_000 }).toEqual([]);
    await expect.poll(() => page.locator('.editor-group-container .monaco-editor .squiggly-error').count(), { timeout: 10_000 }).toBe(0);
    await waitForNotification(page, /pod\/fixme created/, 60_000);
    await focusPane(page, 'Pods');
    await waitForTreeItem(viewPane(page, 'Pods'), /^fixme$/, 30_000);
  });

  it('Delete Pod removes each pod: its rows go, the agent keeps no pod or container, its processes are gone', async () => {
    const { page } = session;
    const pane = viewPane(page, 'Pods');
    const before = await Promise.all(['talk', 'fixme'].map(podNow));
    const podPids = before.flatMap((pod) => [pod.sandbox?.pid ?? null]).filter((pid): pid is number => pid !== null);
    for (const name of ['fixme', 'talk']) {
      const node = await waitForTreeItem(pane, new RegExp(`^${name}$`));
      await node.hover();
      await node.locator('.action-label[aria-label="Delete Pod"]').click();
      await expect.poll(() => treeItems(pane, new RegExp(`^${name}$`)).count(), { timeout: 60_000 }).toBe(0);
    }
    expect(await session.agent.client.call('pod.list', {})).toEqual([]);
    expect(await session.containers()).toEqual([]);
    for (const pid of new Set([...podPids, ...pids])) expect(processExists(pid), `PID ${pid} still runs`).toBe(false);
    await screenshot(page, 'pods-05-deleted');
  });
});

/*
 * The Manifests webview in a real VS Code (code-server + headless Chromium, the packaged .vsix, a
 * loopback sshd and the real agent; see helpers/lab-session.ts):
 *
 *   palette "Show Manifests (config.json ↔ Pod YAML)" on a running container with a memory limit
 *   and a hostname → click linux.namespaces[type=pid] in config.json → the Pod's spec.hostPID is
 *   highlighted and the kernel panel shows /proc/<pid>/ns/pid with the kernel's inode; click the
 *   Pod's limits.memory → config.json's memory.limit is highlighted and the panel shows the cgroup
 *   file and the value in it; select the hostname with the keyboard → the uts namespace's hostname
 *   (what `hostname` says inside); "Open as document" opens the Pod YAML read-only. The security
 *   fields: seccompProfile ↔ linux.seccomp with the Seccomp line of /proc/<pid>/status and the
 *   profile's name; linux.resources.devices with devices.list (v1) and the attached eBPF program (v2);
 *   the session-keyring annotation with _ses.<id> in /proc/keys; and a --privileged container's
 *   `privileged: true` ↔ its annotation, with Seccomp 0 and every capability.
 *
 * Every value is compared with the kernel's own files, read by this test; screenshots go to
 * test/artifacts/e2e/manifests-*.png.
 */
import { readFileSync } from 'node:fs';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ContainerRecord } from '../../agent/protocol';
import { nsInode } from '../helpers/kernel-witness';
import { deviceProgramsOf } from '../../agent/runtime/cgroups/device-filter';
import { runCommand, screenshot } from './helpers/browser';
import { pickIfAsked } from './helpers/dialogs';
import { startLabSession, type LabSession } from './helpers/lab-session';
import { execThroughAgent } from './helpers/agent-exec';
import { waitForWebview } from './helpers/webview';

let session: LabSession;
let record: ContainerRecord;

async function manifestsFrame(page: Page): Promise<Frame> {
  return (await waitForWebview(page, { name: 'manifests' }, 30_000)).frame;
}

/** The kernel panel's value for one field (data-field), once the panel shows the given link. */
async function kernelField(frame: Frame, link: string, field: string): Promise<string> {
  const cell = frame.locator(`#kernel[data-link="${link}"] td[data-field="${field}"]`);
  await cell.waitFor({ state: 'attached', timeout: 15_000 });
  return (await cell.innerText()).trim();
}

/** The paths of the highlighted (selected) field lines in one document. */
async function selectedPaths(frame: Frame, side: 'config' | 'pod'): Promise<string[]> {
  return frame.locator(`#${side}-document .line.selected`).evaluateAll((lines) => lines.map((line) => line.getAttribute('data-path') ?? ''));
}

/** A field of /proc/<pid>/status, as the kernel writes it. */
function statusField(pid: number | 'self', name: string): string {
  return new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.trim();
}

function line(frame: Frame, side: 'config' | 'pod', path: string) {
  return frame.locator(`#${side}-document .line[data-path="${path.replace(/"/g, '\\"')}"]`);
}

beforeAll(async () => {
  session = await startLabSession({ label: 'manifests' });
  await session.openWorkbench();
  await session.connect();
  const started = await session.agent.client.call('container.run', { name: 'e2e-manifests', hostname: 'manifests-e2e', memory: '40m', cpus: 0.5, net: 'none' });
  record = await session.agent.client.call('container.inspect', { id: started.id });
});

afterAll(async () => {
  await session?.close();
});

describe('Manifests webview (config.json ↔ Pod YAML)', () => {
  it('opens from the palette with both documents', async () => {
    const { page } = session;
    await runCommand(page, 'Containers Lab: Show Manifests (config.json ↔ Pod YAML)');
    await pickIfAsked(page, record.name);
    const frame = await manifestsFrame(page);
    expect(await frame.title()).toBe(`Manifests: ${record.name}`);
    await frame.locator('body[data-ready="true"]').waitFor({ timeout: 30_000 });
    // the page shows config.json exactly as the agent holds it, and a Pod that parses
    const configText = await frame.locator('#config-document').evaluate((element) => Array.from(element.children, (line) => line.textContent ?? '').join('\n'));
    expect(JSON.parse(configText)).toEqual(record.config);
    const podText = await frame.locator('#pod-document').evaluate((element) => Array.from(element.children, (line) => line.textContent ?? '').join('\n'));
    const pod = parse(podText) as { kind: string; metadata: { name: string }; spec: { hostname: string; containers: { resources: { limits: { memory: string } } }[] } };
    expect(pod).toMatchObject({ kind: 'Pod', metadata: { name: record.name }, spec: { hostname: 'manifests-e2e', containers: [{ resources: { limits: { memory: '40Mi' } } }] } });
    await screenshot(page, 'manifests-01-open');
  });

  it('linux.namespaces[type=pid] → spec.hostPID, and the kernel\'s pid namespace inode', async () => {
    const { page } = session;
    const frame = await manifestsFrame(page);
    await line(frame, 'config', 'linux.namespaces[type=pid]').click();
    const inode = await kernelField(frame, 'namespace:pid', 'inode');
    expect(inode).toBe(String(nsInode(record.pid!, 'pid')));
    expect(inode).not.toBe(String(nsInode('self', 'pid')));
    expect(await kernelField(frame, 'namespace:pid', 'file')).toBe(`/proc/${record.pid}/ns/pid`);
    expect(await selectedPaths(frame, 'pod')).toEqual(['spec.hostPID']);
    expect(await line(frame, 'pod', 'spec.hostPID').innerText()).toMatch(/hostPID: false/);
    await screenshot(page, 'manifests-02-pid-namespace');
  });

  it('limits.memory → linux.resources.memory.limit, and the cgroup file with the value in it', async () => {
    const { page } = session;
    const frame = await manifestsFrame(page);
    await line(frame, 'pod', 'spec.containers[0].resources.limits.memory').click();
    const file = await kernelField(frame, 'memory', 'file');
    expect(file).toBe(record.cgroup!.files.memory);
    const value = await kernelField(frame, 'memory', 'value');
    expect(value).toBe(readFileSync(file, 'utf8').trim());
    expect(value).toBe(String(40 * 1024 * 1024));
    expect(await selectedPaths(frame, 'config')).toContain('linux.resources.memory.limit');
    await screenshot(page, 'manifests-03-memory-limit');
  });

  it('the hostname, selected with the keyboard, is the uts namespace\'s hostname', async () => {
    const { page } = session;
    const frame = await manifestsFrame(page);
    // focus the config.json document and walk to "hostname" with ↓ from the top
    await frame.locator('#config-document').focus();
    await page.keyboard.press('Home');
    const target = await line(frame, 'config', 'hostname').getAttribute('id');
    for (let step = 0; step < 400; step++) {
      if ((await frame.locator('#config-document').getAttribute('aria-activedescendant')) === target) break;
      await page.keyboard.press('ArrowDown');
    }
    expect(await frame.locator('#config-document').getAttribute('aria-activedescendant')).toBe(target);
    const hostname = await kernelField(frame, 'hostname', 'value');
    expect(hostname).toBe('manifests-e2e');
    // the kernel's own answer: the hostname of the process's uts namespace, asked inside it
    const inside = (await execThroughAgent(session.agent.client, record.id, ['cat', '/proc/sys/kernel/hostname'])).output.trim();
    expect(hostname).toBe(inside);
    expect(await kernelField(frame, 'hostname', 'inode')).toBe(String(nsInode(record.pid!, 'uts')));
    expect(await selectedPaths(frame, 'pod')).toEqual(['spec.hostname']);
    await screenshot(page, 'manifests-04-hostname');
  });

  it('seccompProfile ↔ linux.seccomp: the Seccomp line of /proc/<pid>/status, with the profile\'s name', async () => {
    const { page } = session;
    const frame = await manifestsFrame(page);
    await line(frame, 'pod', 'spec.containers[0].securityContext.seccompProfile').click();
    expect(await line(frame, 'pod', 'spec.containers[0].securityContext.seccompProfile').innerText()).toMatch(/seccompProfile:/);
    const value = await kernelField(frame, 'seccomp', 'value');
    expect(statusField(record.pid!, 'Seccomp')).toBe('2');
    expect(value).toBe('Seccomp: 2 (filter)  profile: the runtime\'s default (Docker-like)');
    expect(await selectedPaths(frame, 'config')).toEqual(expect.arrayContaining(['linux.seccomp', 'annotations["lab.containers.seccomp"]']));
    await screenshot(page, 'manifests-05-seccomp');
  });

  it('linux.resources.devices: the rules as devices.list (v1) and the attached eBPF program (v2) hold them', async () => {
    const { page } = session;
    const frame = await manifestsFrame(page);
    await line(frame, 'config', 'linux.resources.devices').click();
    await frame.locator('#kernel[data-kind="devices"]').waitFor({ timeout: 15_000 });
    expect((await kernelField(frame, 'devices', 'rules')).split('\n')).toEqual(record.cgroup!.devices!.rules);
    const cgroup = record.cgroup!;
    if (cgroup.files.devices) {
      expect(await kernelField(frame, 'devices', 'file')).toBe(cgroup.files.devices);
      expect((await kernelField(frame, 'devices', 'list')).split('\n')).toEqual(readFileSync(cgroup.files.devices, 'utf8').trim().split('\n'));
    }
    if (cgroup.directories.unified) {
      expect(await kernelField(frame, 'devices', 'program-directory')).toBe(cgroup.directories.unified);
      const [id] = deviceProgramsOf(cgroup.directories.unified);
      expect(await kernelField(frame, 'devices', 'programs')).toBe(`id ${id} (bpftool prog dump xlated id ${id})`);
    }
    expect(await selectedPaths(frame, 'pod')).toEqual([]); // no Pod field: the runtime's defaults
    await screenshot(page, 'manifests-06-device-rules');
  });

  it('the session keyring\'s annotation: _ses.<id> as /proc/keys lists it', async () => {
    const { page } = session;
    const frame = await manifestsFrame(page);
    await line(frame, 'config', 'annotations["lab.containers.session-keyring"]').click();
    expect(await line(frame, 'config', 'annotations["lab.containers.session-keyring"]').innerText()).toMatch(/"own"/);
    expect(await kernelField(frame, 'session-keyring', 'name')).toBe(`_ses.${record.id}`);
    expect(readFileSync('/proc/keys', 'utf8')).toContain(` _ses.${record.id}: `);
    expect(await kernelField(frame, 'session-keyring', 'own')).toMatch(/^yes/);
    await screenshot(page, 'manifests-07-session-keyring');
  });

  it('a --privileged container: privileged: true ↔ its annotation, and Seccomp 0 with every capability', async () => {
    const { page } = session;
    const started = await session.agent.client.call('container.run', { name: 'e2e-privileged', net: 'none', privileged: true });
    await runCommand(page, 'Containers Lab: Show Manifests (config.json ↔ Pod YAML)');
    await pickIfAsked(page, 'e2e-privileged');
    const frame = (await waitForWebview(page, { name: 'manifests', title: 'Manifests: e2e-privileged' }, 30_000)).frame;
    await frame.locator('body[data-ready="true"]').waitFor({ timeout: 30_000 });
    const privileged = line(frame, 'pod', 'spec.containers[0].securityContext.privileged');
    expect(await privileged.innerText()).toMatch(/privileged: true/);
    await privileged.click();
    expect(statusField(started.pid!, 'Seccomp')).toBe('0');
    expect(statusField(started.pid!, 'CapEff')).toBe(statusField('self', 'CapBnd'));
    const capabilities = BigInt(`0x${statusField(started.pid!, 'CapEff')}`).toString(2).replace(/0/g, '').length;
    expect(await kernelField(frame, 'privileged', 'value')).toBe(`Seccomp: 0 (none)  NoNewPrivs: 0  CapEff: ${capabilities} capabilities`);
    expect(await selectedPaths(frame, 'config')).toContain('annotations["lab.containers.privileged"]');
    await screenshot(page, 'manifests-08-privileged');
    await runCommand(page, 'View: Close Editor');
    await session.agent.client.call('container.remove', { id: started.id, force: true });
  });

  it('"Open as document" opens the Pod YAML as a read-only editor', async () => {
    const { page } = session;
    const frame = await manifestsFrame(page);
    await frame.locator('#open-pod').click();
    const tab = page.locator('.tabs-container .tab', { hasText: 'pod.yaml' }).first();
    await tab.waitFor({ state: 'visible', timeout: 15_000 });
    const editorText = page.locator('.editor-group-container .monaco-editor .view-lines').filter({ hasText: 'kind: Pod' }).first();
    await editorText.waitFor({ state: 'visible', timeout: 15_000 });
    await screenshot(page, 'manifests-09-pod-yaml-document');
  });
});

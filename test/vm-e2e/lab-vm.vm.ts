/*
 * The learner's path in the real lab VM: a Debian 12 VM (cgroup v2, its own kernel) booted by
 * `vagrant up --provider=libvirt` from the box vm/build-box.sh made, and the packaged extension in
 * code-server + headless Chromium, with the repository as its workspace and
 * containersLab.target = "vagrant":
 *
 *   "Start busybox container" → the extension asks `vagrant ssh-config` for the VM, connects over
 *   SSH (trusting the VM's real host key), bootstraps the agent as the vagrant user with sudo, and
 *   starts a container in the VM → the container's Namespaces rows carry the VM kernel's inodes →
 *   a container with limits shows the VM's cgroup v2 files (memory.max, cpu.max, pids.max) →
 *   a container over its memory limit is OOM-killed (exit 137, memory.events oom_kill) →
 *   "Open Shell in Container" → `hostname` → "Remove Container" → gone from the VM's kernel.
 *
 * Every claim is checked against the VM's kernel, read over OpenSSH (./lab-vm.ts), never against
 * what the extension says about itself. The VM's network lives in the network namespace
 * scripts/vm-e2e.sh made; the first test proves the machine's own namespace cannot reach it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRecord } from '../../agent/protocol';
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
} from '../e2e/helpers/browser';
import { extensionHostLogs, listExtensions, REPO, startCodeServer, type CodeServer } from '../e2e/helpers/code-server';
import { clickDialogButton, pickIfAsked, waitForDialog } from '../e2e/helpers/dialogs';
import { productVsix } from '../e2e/helpers/vsix';
import type { Locator } from 'playwright-core';
import { FIRST_NODE, labVm, NODES, vmInspect, vmNsInodes, type LabVm } from './lab-vm';

const NAMESPACE_TYPES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'] as const;
const MiB = 1024 * 1024;
const LIMITED = 'vm-e2e-limits';
const OOM = 'vm-e2e-oom';

const work = mkdtempSync(join(tmpdir(), 'cl-vm-e2e-'));
let vm: LabVm;
let server: CodeServer;
let browser: Browser;
/** The container "Start busybox container" made, as the VM's agent records it. */
let container: ContainerRecord | undefined;

/** Folds a tree item: an open container node makes the extension re-inspect it every few seconds. */
async function collapseTreeItem(item: Locator): Promise<void> {
  if ((await item.getAttribute('aria-expanded')) === 'true') await item.locator('.monaco-tl-twistie').click();
}

beforeAll(async () => {
  vm = labVm();
  const vsix = productVsix();
  server = await startCodeServer({
    label: 'vm',
    vsix: [vsix],
    folder: REPO,
    settings: {
      'containersLab.target': 'vagrant',
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
  if (vm) {
    // the VM is destroyed by scripts/vm-e2e.sh; still, leave its agent as we found it
    await vm.tryRun(`for c in ${LIMITED} ${OOM} ${container?.id ?? ''}; do containers-lab rm -f "$c" >/dev/null 2>&1; done; true`);
    vm.dispose();
  }
  rmSync(work, { recursive: true, force: true });
});

describe('the lab VM (vagrant + libvirt/qemu, Debian 12) driven by the extension in code-server', () => {
  it('is a Debian 12 VM with cgroup v2 whose network only this run\'s namespace reaches', async () => {
    const facts = (await vm.run('. /etc/os-release; echo $VERSION_ID; stat -fc %T /sys/fs/cgroup; cat /sys/fs/cgroup/cgroup.controllers; systemctl is-active containers-lab.service')).split('\n');
    expect(facts[0]).toBe('12');
    expect(facts[1]).toBe('cgroup2fs');
    expect(facts[2]!.split(' ')).toEqual(expect.arrayContaining(['cpu', 'memory', 'pids']));
    expect(facts[3]).toBe('active');
    // Here (the run's namespace) the VM's address is on a local bridge; in the machine's own
    // namespace (that of scripts/vm-e2e.sh, which made ours) no interface has an address in the
    // VM's subnet and the bridge does not exist.
    const hostNetns = `/proc/${process.env.LAB_HOST_NETNS_PID ?? 'missing'}/ns/net`;
    const here = JSON.parse(spawnSync('ip', ['-j', 'route', 'get', vm.address], { encoding: 'utf8' }).stdout) as { dev: string; gateway?: string }[];
    expect(here[0]?.gateway, `the VM ${vm.address} should be on a directly attached bridge here`).toBeUndefined();
    const subnet = vm.address.split('.').slice(0, 3).join('.') + '.';
    const hostAddresses = spawnSync('nsenter', [`--net=${hostNetns}`, 'ip', '-j', '-4', 'addr'], { encoding: 'utf8' });
    expect(hostAddresses.status, `nsenter --net=${hostNetns}: ${hostAddresses.stderr}`).toBe(0);
    const addresses = (JSON.parse(hostAddresses.stdout) as { ifname: string; addr_info: { local: string }[] }[]).flatMap((link) => link.addr_info.map((info) => `${link.ifname} ${info.local}`));
    expect(addresses.filter((entry) => entry.split(' ')[1]!.startsWith(subnet))).toEqual([]);
    expect(spawnSync('nsenter', [`--net=${hostNetns}`, 'ip', 'link', 'show', here[0]!.dev]).status, `${here[0]!.dev} must not exist in the machine's own namespace`).not.toBe(0);
  });

  it('has the packaged extension installed and opens the "Containers Lab" sidebar', async () => {
    expect(listExtensions(server).some((id) => id.startsWith('containers-lab.containers-lab@'))).toBe(true);
    const { page } = browser;
    await openWorkbench(page, server.url, { folder: REPO });
    await clickActivityBarItem(page, 'Containers Lab');
    expect(await sidebarTitle(page)).toMatch(/^containers lab$/i);
    for (const view of ['Lab', 'Containers', 'Networks']) await viewPane(page, view).first().waitFor({ state: 'visible' });
    await screenshot(page, 'vm-01-sidebar');
    // From here on the Containers view gets the whole sidebar: tree rows out of sight are not
    // rendered at all, and a container node with its sections is taller than a third of it.
    for (const header of await page.locator('.part.sidebar .pane .pane-header').all()) {
      const title = (await header.getAttribute('aria-label')) ?? '';
      if (!/^Containers\b/i.test(title) && (await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    await page.waitForTimeout(500); // the views' layout settles
  });

  it('"Start busybox container" finds the VM through vagrant ssh-config, trusts its host key and starts a container in it', async () => {
    const { page } = browser;
    await runCommand(page, 'Containers Lab: Start busybox container');
    // a multi-node lab: the extension asks which Vagrant machine is the lab host
    if (NODES > 1) expect(await pickIfAsked(page, `(vagrant: ${FIRST_NODE})`, 120_000), 'the node picker').toBe(true);
    const dialog = await waitForDialog(page, 120_000);
    await screenshot(page, 'vm-02-trust-host-key');
    expect(dialog.message).toMatch(/Trust the host key/);
    // the fingerprint shown must be one of the VM's own host keys, as OpenSSH in the VM prints it
    const fingerprints = (await vm.run('for key in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -l -E sha256 -f "$key"; done'))
      .split('\n').filter(Boolean).map((line) => line.split(' ')[1]!);
    expect(fingerprints.length).toBeGreaterThan(0);
    expect(fingerprints.some((fingerprint) => dialog.detail.includes(fingerprint)), `${dialog.detail} vs ${fingerprints.join(', ')}`).toBe(true);
    await clickDialogButton(page, 'Trust and Connect');

    const containersPane = viewPane(page, 'Containers');
    const node = await waitForTreeItem(containersPane, /^busybox-\d+$/, 240_000).catch(async (error: unknown) => {
      await screenshot(page, 'vm-02-failed');
      throw new Error(`${String(error)}\nnotifications: ${(await notificationMessages(page)).join(' | ')}\n${extensionHostLogs(server).slice(-4000)}`);
    });
    const name = (await node.locator('.label-name').innerText()).trim();
    container = await vmInspect<ContainerRecord>(vm, name);
    expect(container.status).toBe('running');
    // the extension's default: 64 MiB, enforced by the VM's cgroup v2 memory.max
    expect(container.cgroup?.version).toBe(2);
    const [alive, memoryMax] = (await vm.run(`test -d /proc/${container.pid} && echo alive; cat ${container.cgroup!.directories.unified}/memory.max`)).split('\n');
    expect(alive, `PID ${container.pid} in the VM`).toBe('alive');
    expect(memoryMax).toBe(String(64 * MiB));
    await screenshot(page, 'vm-03-container-node');
  });

  it('the Namespaces rows show the VM kernel\'s /proc/<pid>/ns/* inodes', async () => {
    const { page } = browser;
    expect(container, 'no container from the previous step').toBeDefined();
    const pid = container!.pid!;
    const containersPane = viewPane(page, 'Containers');
    const node = await waitForTreeItem(containersPane, new RegExp(`^${container!.name}$`));
    await expandTreeItem(node);
    await expandTreeItem(await waitForTreeItem(containersPane, /^Namespaces$/));
    await waitForTreeItem(containersPane, /^uts: \d+$/, 60_000);
    await screenshot(page, 'vm-04-namespaces');

    const rows = (await treeRowTexts(containersPane)).filter((row) => /^(cgroup|ipc|mnt|net|pid|user|uts): /.test(row));
    const shown = new Map(rows.map((row) => {
      const [, type, inode] = /^(\w+): (\d+|–)/.exec(row)!;
      return [type!, inode!] as const;
    }));
    expect([...shown.keys()].sort()).toEqual([...NAMESPACE_TYPES]);
    const inodes = await vmNsInodes(vm, pid);
    const vmOwn = await vmNsInodes(vm, 1);
    for (const type of NAMESPACE_TYPES) {
      expect(shown.get(type), `${type} inode in the tree vs the VM's /proc/${pid}/ns/${type}`).toBe(String(inodes[type]));
    }
    // "own" rows are not the VM's own (PID 1's) namespaces; "shared with host" rows are
    for (const row of rows) {
      const type = row.split(':')[0]!;
      if (/ own$/.test(row)) expect(inodes[type], `${type} is shown as own but is the VM's`).not.toBe(vmOwn[type]);
      if (/ shared with host$/.test(row)) expect(inodes[type], `${type} is shown as shared but is not the VM's`).toBe(vmOwn[type]);
    }
    expect(rows.filter((row) => / own$/.test(row)).length, `rows: ${rows.join(' | ')}`).toBeGreaterThanOrEqual(5);
    await collapseTreeItem(node);
  });

  it('a container with limits: the VM\'s memory.max, cpu.max and pids.max hold them, and the sidebar shows the same', async () => {
    const { page } = browser;
    await vm.run(`containers-lab run -d --name ${LIMITED} --memory 48m --cpus 0.5 --pids 20 --net none busybox -- sleep 600 >/dev/null`);
    const record = await vmInspect<ContainerRecord>(vm, LIMITED);
    expect(record.cgroup?.version).toBe(2);
    const dir = record.cgroup!.directories.unified!;
    // the VM's kernel files, read directly
    const [memoryMax, cpuMax, pidsMax, ...procs] = (await vm.run(`cat ${dir}/memory.max ${dir}/cpu.max ${dir}/pids.max ${dir}/cgroup.procs`)).trim().split('\n');
    expect(memoryMax).toBe(String(48 * MiB));
    expect(cpuMax).toBe('50000 100000');
    expect(pidsMax).toBe('20');
    expect(procs).toContain(String(record.pid));
    // pids.max is enforced: the 21st process cannot be made, and the kernel counts the refusal
    const forks = await vm.tryRun(`containers-lab exec ${LIMITED} -- sh -c 'for i in $(seq 1 30); do sleep 2 & done; wait' 2>&1; grep '^max ' ${dir}/pids.events`);
    expect(forks.stdout).toMatch(/can't fork|Resource temporarily unavailable/i);
    expect(Number(/^max (\d+)$/m.exec(forks.stdout)?.[1] ?? '0')).toBeGreaterThan(0);

    // the sidebar learns of the container from the VM's agent and shows the same limits
    const containersPane = viewPane(page, 'Containers');
    const node = await waitForTreeItem(containersPane, new RegExp(`^${LIMITED}$`), 90_000);
    await expandTreeItem(node);
    await expandTreeItem(treeItems(containersPane, /^Cgroup$/).last());
    await waitForTreeItem(containersPane, /^pids: /, 60_000);
    await screenshot(page, 'vm-05-cgroup-limits');
    const rows = await treeRowTexts(containersPane);
    expect(rows.some((row) => /^memory: .* \/ 48 MiB/.test(row)), rows.join(' | ')).toBe(true);
    expect(rows.some((row) => row.startsWith('cpu: 0.5 CPU (50000/100000 µs)')), rows.join(' | ')).toBe(true);
    expect(rows.some((row) => /^pids: \d+ \/ 20$/.test(row)), rows.join(' | ')).toBe(true);
    expect(rows).toContain(`cgroup v2: ${record.cgroup!.path}`);
    await collapseTreeItem(node);
  });

  it('over its memory limit a container is OOM-killed: exit 137 and oom_kill in the VM\'s memory.events', async () => {
    // 200 MiB buffer in a 32 MiB cgroup: the kernel's OOM killer must end dd with SIGKILL
    const run = await vm.tryRun(`containers-lab run --name ${OOM} --memory 32m --net none busybox -- dd if=/dev/zero of=/dev/null bs=200M count=1; echo "exit=$?"`, 180_000);
    expect(run.stdout, run.stderr).toMatch(/exit=137\s*$/);
    const record = await vmInspect<ContainerRecord>(vm, OOM);
    expect(record.exitCode).toBe(137);
    expect(record.oomKilled).toBe(true);
    expect(record.cgroup, 'the stopped container keeps its cgroup until it is removed').not.toBeNull();
    // memory.events is the kernel's own count of what happened in that cgroup
    const dir = record.cgroup!.directories.unified!;
    const [memoryMax, ...events] = (await vm.run(`cat ${dir}/memory.max ${dir}/memory.events`)).trim().split('\n');
    expect(memoryMax).toBe(String(32 * MiB));
    expect(Number(events.find((line) => line.startsWith('oom_kill '))?.split(' ')[1] ?? '0'), events.join(' | ')).toBeGreaterThanOrEqual(1);
    await vm.run(`containers-lab rm -f ${OOM} >/dev/null`);
  });

  it('"Open Shell in Container" runs `hostname` in the VM\'s container and the terminal shows it', async () => {
    const { page } = browser;
    const name = container!.name;
    await runCommand(page, 'Containers Lab: Open Shell in Container');
    await pickIfAsked(page, name);
    await waitForTerminalText(page, /[#$]\s*$/m, 60_000);
    await typeInTerminal(page, 'hostname');
    const expected = container!.hostname ?? name;
    expect(expected).not.toBe((await vm.run('hostname')).trim());
    const text = await waitForTerminalText(page, new RegExp(`hostname\\s*\\n${expected}\\s*$`, 'm'), 60_000);
    await screenshot(page, 'vm-06-shell-hostname');
    expect(text).toContain(expected);
  });

  it('"Remove Container" makes the node disappear and the VM\'s kernel objects go away', async () => {
    const { page } = browser;
    const record = await vmInspect<ContainerRecord>(vm, container!.name);
    const cgroupDirs = Object.values(record.cgroup?.directories ?? {});
    expect(cgroupDirs.length).toBeGreaterThan(0);
    const vethHost = record.network.vethHost!;
    // what exists in the VM's kernel for this container: its process, cgroup directories, veth
    const present = `test -e /proc/${record.pid} && echo pid; for d in ${cgroupDirs.join(' ')}; do [ -e "$d" ] && echo "$d"; done; ip link show ${vethHost} >/dev/null 2>&1 && echo veth; true`;
    expect((await vm.run(present)).trim().split('\n')).toEqual(['pid', ...cgroupDirs, 'veth']);

    await runCommand(page, 'Containers Lab: Remove Container');
    await pickIfAsked(page, record.name);
    await treeItems(viewPane(page, 'Containers'), new RegExp(`^${record.name}$`)).first().waitFor({ state: 'detached', timeout: 120_000 });
    await page.waitForTimeout(1_500); // a late error toast would show up now
    expect((await notificationMessages(page)).filter((message) => /exit code|failed|error/i.test(message))).toEqual([]);
    await screenshot(page, 'vm-07-removed');

    expect((await vm.tryRun(`containers-lab inspect --json ${record.id}`)).status).not.toBe(0);
    expect((await vm.run(present)).trim(), 'left in the VM after removal').toBe('');
  });
});

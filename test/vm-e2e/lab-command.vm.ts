/*
 * The README's lab command in VM mode, as a learner meets it. scripts/vm-e2e.sh ran
 * `LAB_MODE=vm scripts/lab`: scripts/vm-up.sh brought the VM up (vagrant up, libvirt), then
 * scripts/open-vscode.sh started code-server on 127.0.0.1 with the packaged extension, this
 * repository as its workspace and containersLab.target "vagrant". Its URL comes here
 * (LAB_VM_CODE_SERVER_URL). The test configures and runs nothing: the extension connects by
 * itself (containersLab.connectOnStartup, set by the script), finding the VM through
 * `vagrant ssh-config`, and the Lab view must show the VM's own hostname and kernel, read
 * independently over OpenSSH (./lab-vm.ts). Trusting the VM's host key is the learner's one click.
 *
 * With two nodes (the job's default; LAB_VM_E2E_NODES=1 boots one: lab1 and lab2 on a private
 * network) the extension connects to lab1, then switches to lab2 — another machine, by its hostname
 * and host key — and the nodes reach each other over their private network.
 *
 * Last (vitest.vm.config.ts runs this file after the others), the VM's life cycle from the palette:
 * "Stop Lab VM" halts every node (libvirt says "shut off"), "Start Lab VM" boots them again (a new
 * boot id in each kernel) and reconnects to the node in use with nothing asked, "Destroy Lab VM"
 * — once cancelled, then confirmed — deletes the domains and their disks, and the extension forgets
 * the nodes' host-key pins (a new VM has new keys). Vagrant's progress must
 * reach the "Containers Lab" output channel (its log file in code-server's user data).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { clickActivityBarItem, launchBrowser, notificationMessages, openWorkbench, runCommand, screenshot, treeRowTexts, viewPane, waitForTreeItem, type Browser } from '../e2e/helpers/browser';
import { REPO } from '../e2e/helpers/code-server';
import { clickDialogButton, waitForDialog } from '../e2e/helpers/dialogs';
import { FIRST_NODE, labVm, NODES, type LabVm } from './lab-vm';

const url = process.env.LAB_VM_CODE_SERVER_URL;
let browser: Browser;
/** The nodes, as OpenSSH reaches them: the witnesses. */
const nodes = new Map<string, LabVm>();

/**
 * Picks a node in the extension's quick pick by typing its name and Enter: a hover left by the
 * mouse over a row's "vagrant@…" description can cover the row a click would aim at.
 */
async function pickNode(page: Page, node: string): Promise<void> {
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: `(vagrant: ${node})` }).first().waitFor({ timeout: 120_000 });
  await page.mouse.move(1, 1);
  await page.keyboard.type(`vagrant: ${node})`);
  await page.keyboard.press('Enter');
}

/** The VM's hostname, kernel release and SSH host key fingerprints, read over OpenSSH. */
async function facts(vm: LabVm): Promise<{ hostname: string; kernel: string; fingerprints: string[] }> {
  const [hostname, kernel, ...keys] = (await vm.run('hostname; uname -r; for key in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -l -E sha256 -f "$key"; done')).trim().split('\n');
  return { hostname: hostname!.trim(), kernel: kernel!.trim(), fingerprints: keys.map((line) => line.split(' ')[1]!) };
}

/**
 * Answers the host-key dialog for `vm` (its fingerprint must be one of the VM's own) and waits for
 * "connected" (with `openSidebar`, first opens the sidebar that shows it).
 */
async function trustAndWaitConnected(page: Page, vm: LabVm, options: { openSidebar?: boolean } = {}): Promise<void> {
  const dialog = await waitForDialog(page, 180_000);
  expect(dialog.message).toMatch(/Trust the host key/);
  const { fingerprints } = await facts(vm);
  expect(fingerprints.some((fingerprint) => dialog.detail.includes(fingerprint)), `${dialog.detail} vs ${vm.name}'s ${fingerprints.join(', ')}`).toBe(true);
  await clickDialogButton(page, 'Trust and Connect');
  if (options.openSidebar) await clickActivityBarItem(page, 'Containers Lab');
  await page.locator('.part.sidebar .monaco-list-row[role="treeitem"]', { hasText: /State\s*connected/ }).first().waitFor({ timeout: 240_000 });
}

/** The Lab view's rows as "Label description" texts, once the agent's facts (Kernel) are in. */
async function labRows(page: Page): Promise<string[]> {
  const lab = viewPane(page, 'Lab');
  await waitForTreeItem(lab, /^Kernel$/, 60_000);
  return treeRowTexts(lab);
}

/** The Lab view and the status bar show `vm`: its node name, hostname and kernel. */
async function expectShowing(page: Page, vm: LabVm): Promise<void> {
  const { hostname, kernel } = await facts(vm);
  expect(hostname).toBe(vm.name);
  // the rows follow the connection's events: wait until they name this node's hostname
  await expect.poll(async () => (await labRows(page)).join('\n'), { timeout: 60_000 }).toMatch(new RegExp(`Host\\s+${hostname} \\(`));
  const rows = (await labRows(page)).join('\n');
  expect(rows).toContain(`Target lab VM (vagrant: ${vm.name})`);
  expect(rows).toMatch(/State\s+connected/);
  expect(rows).toMatch(new RegExp(`Host\\s+${hostname} \\(`));
  expect(rows).toMatch(new RegExp(`Kernel\\s+${kernel.replace(/[.+]/g, '\\$&')}$`, 'm'));
  expect(rows).toMatch(/Cgroup\s+v2/);
  expect(await page.locator('.part.statusbar').innerText()).toContain(`(vagrant: ${vm.name})`);
}

beforeAll(async () => {
  if (!url) throw new Error('LAB_VM_CODE_SERVER_URL is not set: scripts/vm-e2e.sh runs `LAB_MODE=vm scripts/lab` and passes on the URL it prints');
  nodes.set(FIRST_NODE, labVm(FIRST_NODE));
  if (NODES > 1) nodes.set('lab2', labVm('lab2'));
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  for (const vm of nodes.values()) vm.dispose();
});

describe('LAB_MODE=vm scripts/lab: the code-server it opened, as the learner uses it', () => {
  it('opens on the repository and connects by itself, finding the VM through vagrant ssh-config; the Lab view shows the VM\'s hostname and kernel', async () => {
    const { page } = browser;
    await openWorkbench(page, url!);
    expect(await page.title()).toContain(REPO.split('/').pop()!);
    // Nothing is run: containersLab.connectOnStartup (set by the script) connects. A multi-node lab
    // asks which Vagrant machine is the lab host; a new host asks to trust its key.
    if (NODES > 1) await pickNode(page, FIRST_NODE);
    await trustAndWaitConnected(page, nodes.get(FIRST_NODE)!, { openSidebar: true });
    await expectShowing(page, nodes.get(FIRST_NODE)!);
    await screenshot(page, 'vm-lab-01-connected');
  });
});

describe.skipIf(NODES < 2)('a lab of two nodes: lab1 and lab2 (skipped with LAB_VM_E2E_NODES=1)', () => {
  it('both nodes run the agent service, and "Switch Lab Node…" moves the extension from lab1 to lab2', async () => {
    const { page } = browser;
    const [lab1, lab2] = [nodes.get('lab1')!, nodes.get('lab2')!];
    for (const vm of [lab1, lab2]) expect((await vm.run('systemctl is-active containers-lab.service')).trim(), vm.name).toBe('active');
    expect((await facts(lab2)).hostname).not.toBe((await facts(lab1)).hostname);

    await runCommand(page, 'Containers Lab: Switch Lab Node…');
    await pickNode(page, 'lab2');
    await trustAndWaitConnected(page, lab2);
    await expectShowing(page, lab2);
    await screenshot(page, 'vm-lab-02-switched-to-lab2');
  });

  it('lab1 and lab2 reach each other over their private network', async () => {
    const [lab1, lab2] = [nodes.get('lab1')!, nodes.get('lab2')!];
    // the address each node has on the private network, from its own kernel (vm/Vagrantfile: <prefix>.11, .12)
    const privateAddress = async (vm: LabVm): Promise<string> => {
      const links = JSON.parse(await vm.run('ip -j -4 addr')) as { ifname: string; addr_info: { local: string }[] }[];
      const addresses = links.flatMap((link) => link.addr_info.map((info) => info.local)).filter((address) => address.startsWith('192.168.56.'));
      expect(addresses, `${vm.name}'s addresses on 192.168.56.0/24`).toHaveLength(1);
      return addresses[0]!;
    };
    const [address1, address2] = [await privateAddress(lab1), await privateAddress(lab2)];
    expect([address1, address2]).toEqual(['192.168.56.11', '192.168.56.12']);
    for (const [from, to] of [[lab1, address2], [lab2, address1]] as const) {
      const ping = await from.tryRun(`busybox ping -c 3 -W 5 ${to}`);
      expect(ping.status, `${from.name} → ${to}: ${ping.stdout}${ping.stderr}`).toBe(0);
      expect(ping.stdout).toMatch(/3 packets transmitted, 3 (packets )?received/);
    }
  });
});

/**
 * The lab's own agents (the services vm/provision.sh starts): each node has a container subnet of
 * its own (lab1 10.77.1.0/24, lab2 10.77.2.0/24 — a per-node pod CIDR) and knows the other as a peer
 * in routed mode, so a container the learner runs on lab1 reaches one on lab2 with no setup at all.
 */
describe.skipIf(NODES < 2)("the lab's services: a subnet per node, each node the other's peer (routed)", () => {
  const NODE = [
    { name: 'lab1', address: '192.168.56.11', subnet: '10.77.1.0/24' },
    { name: 'lab2', address: '192.168.56.12', subnet: '10.77.2.0/24' },
  ] as const;
  const vms = (): LabVm[] => [nodes.get('lab1')!, nodes.get('lab2')!];

  afterAll(async () => {
    if (NODES < 2) return;
    for (const [index, vm] of vms().entries()) await vm.tryRun(`containers-lab rm -f svc${index + 1}`);
  });

  it('lab1 and lab2 have subnets of their own, a route to each other\'s, and a container on lab1 pings one on lab2', async () => {
    for (const [index, vm] of vms().entries()) {
      const peer = NODE[1 - index]!;
      const view = JSON.parse(await vm.run('containers-lab node ls --json')) as { mode: string; self: { subnet: string }; nodes: { name: string; address: string; subnet: string }[] };
      expect(view.mode).toBe('routed');
      expect(view.self.subnet).toBe(NODE[index]!.subnet);
      expect(view.nodes).toEqual([expect.objectContaining({ name: peer.name, address: peer.address, subnet: peer.subnet })]);
      const routes = JSON.parse(await vm.run('ip -j route show proto 77')) as { dst: string; gateway: string }[];
      expect(routes).toContainEqual(expect.objectContaining({ dst: peer.subnet, gateway: peer.address }));
      await vm.run(`containers-lab run -d --name svc${index + 1} busybox`);
    }
    const target = (await vms()[1]!.run('containers-lab inspect --json svc2')).match(/"ip": "([0-9.]+)"/)![1]!;
    expect(target.startsWith('10.77.2.')).toBe(true);
    const ping = await vms()[0]!.tryRun(`containers-lab exec svc1 -- ping -c 3 -W 5 ${target}`);
    expect(ping.status, ping.stdout + ping.stderr).toBe(0);
  });
});

/**
 * Containers on lab1 reach containers on lab2 (issue 18), in routed and in overlay mode. Each node
 * gets an agent of its own for this (standalone CLI on a state root, bridge and subnet of the
 * test's: the VM's service keeps cl0 and its own routed peers), and is told the other: a route per peer subnet, then a VXLAN
 * device with FDB and neighbour entries; a 1400-byte ping with "don't fragment" crosses the overlay.
 * Witnesses: `ip -j route show proto 77`, `ip -j -d link show type vxlan`, `bridge -j fdb`.
 */
describe.skipIf(NODES < 2)('containers on two nodes (routed, overlay)', () => {
  const NODE = [
    { name: 'lab1', address: '192.168.56.11', subnet: '10.244.1.0/24' },
    { name: 'lab2', address: '192.168.56.12', subnet: '10.244.2.0/24' },
  ] as const;
  const cli = (index: number, args: string): string =>
    `CONTAINERS_LAB_BRIDGE=clnode0 CONTAINERS_LAB_SUBNET=${NODE[index]!.subnet} containers-lab --root /var/lib/containers-lab-nodes --socket /run/containers-lab-nodes.sock ${args}`;
  const vms = (): LabVm[] => [nodes.get('lab1')!, nodes.get('lab2')!];

  afterAll(async () => {
    if (NODES < 2) return;
    for (const [index, vm] of vms().entries()) {
      await vm.tryRun(`${cli(index, 'node mode none')}; ${cli(index, `rm -f n${index + 1}`)}; ${cli(index, `node rm ${NODE[1 - index]!.name}`)}; ip link del clnode0; rm -rf /var/lib/containers-lab-nodes`);
    }
  });

  it('routed: a route per peer subnet via the peer; a container on lab1 pings one on lab2', async () => {
    for (const [index, vm] of vms().entries()) {
      const peer = NODE[1 - index]!;
      await vm.run(`${cli(index, `run -d --name n${index + 1} busybox`)} && ${cli(index, `node add ${peer.name} ${peer.address} ${peer.subnet}`)} && ${cli(index, 'node mode routed')}`);
      // (the service's own route to the peer's 10.77 subnet is there too: only the test agent's are counted)
      const routes = (JSON.parse(await vm.run('ip -j route show proto 77')) as { dst: string; gateway: string }[]).filter((route) => route.dst.startsWith('10.244.'));
      expect(routes).toEqual([expect.objectContaining({ dst: peer.subnet, gateway: peer.address })]);
    }
    const target = (await vms()[1]!.run(`${cli(1, 'inspect --json n2')}`)).match(/"ip": "([0-9.]+)"/)![1]!;
    const ping = await vms()[0]!.tryRun(cli(0, `exec n1 -- ping -c 3 -W 5 ${target}`));
    expect(ping.status, ping.stdout + ping.stderr).toBe(0);
  });

  it('overlay: a VXLAN device on the bridge, FDB entries to the peer; a 1400-byte ping with DF set crosses it', async () => {
    for (const [index, vm] of vms().entries()) {
      await vm.run(cli(index, 'node mode overlay --vni 42'));
      expect((JSON.parse(await vm.run('ip -j route show proto 77')) as { dst: string }[]).filter((route) => route.dst.startsWith('10.244.'))).toHaveLength(1);
      const [device] = JSON.parse(await vm.run('ip -j -d link show type vxlan')) as { ifname: string; mtu: number; linkinfo: { info_data: { id: number; local: string } } }[];
      expect(device).toMatchObject({ ifname: 'clvx42', mtu: 1450, linkinfo: { info_data: { id: 42, local: NODE[index]!.address } } });
      const fdb = JSON.parse(await vm.run('bridge -j fdb show dev clvx42')) as { dst?: string }[];
      expect(fdb.some((entry) => entry.dst === NODE[1 - index]!.address)).toBe(true);
    }
    const target = (await vms()[1]!.run(`${cli(1, 'inspect --json n2')}`)).match(/"ip": "([0-9.]+)"/)![1]!;
    const pid = (await vms()[0]!.run(`${cli(0, 'inspect --json n1')}`)).match(/"pid": (\d+)/)![1]!;
    const big = await vms()[0]!.tryRun(`nsenter -t ${pid} -n ping -M do -s 1400 -c 3 -W 5 ${target}`);
    expect(big.status, big.stdout + big.stderr).toBe(0);
  });
});

// --- the VM's life cycle from the palette ----------------------------------------------------------

/** A node's libvirt domain: its UUID from Vagrant's machine state, and its disks' files. */
interface Domain {
  node: string;
  uuid: string;
  disks: string[];
}

function virsh(...args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout ?? '' };
}

/** Libvirt's word for the domain ("running", "shut off"), or "gone" when libvirt has no such domain. */
function domainState(uuid: string): string {
  const result = virsh('domstate', uuid);
  return result.status === 0 ? result.stdout.trim() : 'gone';
}

/** The domains Vagrant made for the lab's nodes (machines/<node>/libvirt/id), as libvirt knows them. */
function labDomains(): Domain[] {
  const machines = join(process.env.VAGRANT_DOTFILE_PATH!, 'machines');
  return [...nodes.keys()].map((node) => {
    const uuid = readFileSync(join(machines, node, 'libvirt', 'id'), 'utf8').trim();
    const disks = virsh('domblklist', uuid, '--details').stdout.split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[0] === 'file' && fields[1] === 'disk')
      .map((fields) => fields[3]!);
    return { node, uuid, disks };
  });
}

/** The "Containers Lab" output channel as VS Code writes it: the newest such log of scripts/lab's code-server. */
function outputChannelLog(): string {
  const logs = join(process.env.CONTAINERS_LAB_CODE_SERVER_HOME ?? '/var/lib/containers-lab/code-server', 'user-data', 'logs');
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name === 'Containers Lab.log') found.push(join(dir, entry.name));
    }
  };
  if (existsSync(logs)) walk(logs);
  const newest = found.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) throw new Error(`no "Containers Lab.log" under ${logs}`);
  return readFileSync(newest, 'utf8');
}

/** Polls `done` (every 2 s, up to `timeoutMs`) and returns every notification text seen meanwhile. */
async function watchNotificationsUntil(page: Page, done: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<string[]> {
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const message of await notificationMessages(page)) seen.add(message.trim());
    if (await done()) return [...seen];
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s; notifications seen: ${[...seen].join(' | ')}`);
    await page.waitForTimeout(2_000);
  }
}

async function labViewText(page: Page): Promise<string> {
  return (await treeRowTexts(viewPane(page, 'Lab'))).join('\n');
}

describe('"Stop Lab VM" → "Start Lab VM" → "Destroy Lab VM" from the palette', () => {
  let domains: Domain[] = [];
  const bootIds = new Map<string, string>();
  /** The node the extension is connected to when the VM is stopped: lab2 after the switch above. */
  const inUse = NODES > 1 ? 'lab2' : FIRST_NODE;

  it('"Stop Lab VM" disconnects and halts every node; vagrant\'s progress is in the output channel', async () => {
    const { page } = browser;
    domains = labDomains();
    for (const domain of domains) {
      expect(domainState(domain.uuid), domain.node).toBe('running');
      expect(domain.disks.length, `${domain.node}'s disks`).toBeGreaterThan(0);
      bootIds.set(domain.node, (await nodes.get(domain.node)!.run('cat /proc/sys/kernel/random/boot_id')).trim());
    }
    await runCommand(page, 'Containers Lab: Stop Lab VM');
    const seen = await watchNotificationsUntil(page, () => domains.every((domain) => domainState(domain.uuid) === 'shut off') && outputChannelLog().includes('vagrant halt finished'), 300_000, 'every node shut off');
    expect(seen.join('\n')).toMatch(/stopping the lab VM/);
    expect(await labViewText(page)).toMatch(/State\s+disconnected/);
    const log = outputChannelLog();
    for (const domain of domains) expect(log).toMatch(new RegExp(`vagrant: ==> ${domain.node}: `));
    await screenshot(page, 'vm-lab-03-stopped');
  });

  it('"Start Lab VM" boots the nodes again and reconnects to the node in use, asking nothing', async () => {
    const { page } = browser;
    for (const vm of nodes.values()) vm.dispose(); // their SSH connections went with the old boot
    await runCommand(page, 'Containers Lab: Start Lab VM');
    // no node picker and no host-key question: either would leave the connection waiting
    const seen = await watchNotificationsUntil(page, async () => /State\s+connected/.test(await labViewText(page)), 420_000, 'connected again');
    expect(seen.join('\n')).toMatch(/starting the lab VM/);
    for (const domain of domains) expect(domainState(domain.uuid), domain.node).toBe('running');
    for (const node of [...nodes.keys()]) nodes.set(node, labVm(node));
    for (const [node, vm] of nodes) {
      const bootId = (await vm.run('cat /proc/sys/kernel/random/boot_id')).trim();
      expect(bootId, `${node} booted again`).not.toBe(bootIds.get(node));
      expect((await vm.run('systemctl is-active containers-lab.service')).trim(), node).toBe('active');
    }
    await expectShowing(page, nodes.get(inUse)!);
    const log = outputChannelLog();
    expect(log).toContain('vagrant up finished');
    expect(log).toContain(`connected to lab VM (vagrant: ${inUse})`);
    await screenshot(page, 'vm-lab-04-started-again');
  });

  it('"Destroy Lab VM" asks first: Cancel keeps everything; Destroy deletes every node\'s domain and disk, and their host-key pins', async () => {
    const { page } = browser;
    // the pins the extension holds: one per node it connected to (lab1 on startup, lab2 by the switch)
    await runCommand(page, 'Containers Lab: Forget Host Key…');
    const pinned = page.locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name');
    await pinned.first().waitFor({ timeout: 15_000 });
    expect((await pinned.allInnerTexts()).sort()).toEqual([...nodes.values()].map((vm) => `${vm.address}:22`).sort());
    await page.keyboard.press('Escape');

    await runCommand(page, 'Containers Lab: Destroy Lab VM');
    expect((await waitForDialog(page)).message).toBe('Destroy the lab VM?');
    await clickDialogButton(page, 'Cancel');
    for (const domain of domains) expect(domainState(domain.uuid), domain.node).toBe('running');
    expect(await labViewText(page)).toMatch(/State\s+connected/);

    await runCommand(page, 'Containers Lab: Destroy Lab VM');
    await waitForDialog(page);
    await clickDialogButton(page, 'Destroy');
    const seen = await watchNotificationsUntil(page, () => domains.every((domain) => domainState(domain.uuid) === 'gone') && outputChannelLog().includes('vagrant destroy -f finished'), 300_000, 'every domain gone');
    expect(seen.join('\n')).toMatch(/destroying the lab VM/);
    for (const domain of domains) {
      for (const disk of domain.disks) expect(existsSync(disk), `${domain.node}'s disk ${disk}`).toBe(false);
      expect(existsSync(join(process.env.VAGRANT_DOTFILE_PATH!, 'machines', domain.node, 'libvirt', 'id')), `${domain.node}'s Vagrant id`).toBe(false);
    }
    expect(await labViewText(page)).toMatch(/State\s+disconnected/);
    expect(await notificationMessages(page), 'no error notification').not.toContainEqual(expect.stringMatching(/failed|error/i));
    // a new VM makes new host keys: the destroyed one's pins would refuse it
    expect(outputChannelLog()).toMatch(/forgot the host keys pinned for the destroyed VM's nodes/);
    await runCommand(page, 'Containers Lab: Forget Host Key…');
    await expect.poll(() => notificationMessages(page), { timeout: 15_000 }).toContainEqual('Containers Lab has no pinned host keys.');
    await screenshot(page, 'vm-lab-05-destroyed');
  });
});

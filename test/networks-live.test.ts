/*
 * The Networks view kept live without re-reading the host (extension/views/networks/live-networks.ts)
 * on the real agent service's own notifications: one host.snapshot at load, then link.changed for the
 * host's side and container.inspect of the one container that started for the far end of its veth.
 * What the view would show is checked against the kernel — `ip -j` inside the container's namespace
 * (through nsenter) and on the host, /proc/<pid>/ns/net — and every redraw is checked to show no
 * guessed far end ("ifindex 2 · no address"). A veth no container owns falls back to a snapshot.
 *
 * Names: bridge "clnetlv0", subnet 10.77.141.0/24, containers "netlive-…", a hand-made pair
 * "clnlv-host"/"clnlv-far"; everything is removed in afterAll and checked gone.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRecord, RunOptions } from '../agent/protocol';
import type { AgentClient } from '../agent/service/client';
import { LiveNetworks } from '../extension/views/networks/live-networks';
import type { BridgeModel, VethPort } from '../extension/views/networks/model';
import { addressesOf, ipAddr } from './helpers/ip-addr';
import { hostLinkNames, leftovers, NONE_LEFT, nsInode, removeBridgeIfCreated } from './helpers/kernel-witness';
import { startService, stopService, type RunningService } from './helpers/service';
import { waitFor } from './helpers/wait';

const BRIDGE = 'clnetlv0';
const SUBNET = '10.77.141.0/24';

const work = mkdtempSync('/tmp/cl-networks-live-');
let agent: RunningService;
const removeBridge = removeBridgeIfCreated(BRIDGE);
const made: ContainerRecord[] = [];
const calls: string[] = [];
let live: LiveNetworks;
let redraws = 0;
let incomplete = 0;
let notifications = 0;
const errors: unknown[] = [];
/** Far ends shown as a guess at any redraw (what the view must never show for a container's veth). */
const guessed: string[] = [];

const ourBridge = (): BridgeModel | undefined => live.bridges().find((bridge) => bridge.name === BRIDGE);
const portNamed = (name: string | null): VethPort | undefined => ourBridge()?.ports.find((port) => port.name === name);

async function run(options: RunOptions): Promise<ContainerRecord> {
  const record = await agent.client.call('container.run', { args: ['sleep', '600'], ...options });
  made.push(record);
  return record;
}

beforeAll(async () => {
  mkdirSync(join(work, 'run'));
  agent = await startService(join(work, 'state'), join(work, 'run', 'agent.sock'));
  // The client the view uses, with every request it makes noted.
  const client: AgentClient = {
    ...agent.client,
    call: (method, params, options) => {
      calls.push(method);
      return agent.client.call(method, params, options);
    },
  };
  live = new LiveNetworks(() => client, {
    changed: () => {
      redraws++;
      // Only this file's bridge: test files running beside this one make veths this agent does not own.
      for (const bridge of live.bridges().filter((candidate) => candidate.name === BRIDGE)) {
        for (const port of bridge.ports) if (port.peer?.name.startsWith('ifindex ')) guessed.push(`${port.name} ↔ ${port.peer.name}`);
      }
    },
    incomplete: () => incomplete++,
    error: (_message, error) => errors.push(error),
  });
  const counted = <P>(handle: (params: P) => void) => (params: P): void => {
    notifications++;
    handle(params);
  };
  agent.client.on('link.changed', counted((params) => live.linkChanged(params)));
  agent.client.on('container.changed', counted((params) => live.containerChanged(params)));
  agent.client.on('container.removed', counted((params) => live.containerRemoved(params.name)));
  // The bridge exists before the first load (the first container on it makes it).
  await run({ name: 'netlive-first', bridge: BRIDGE, subnet: SUBNET });
  await live.load();
});

afterAll(async () => {
  live?.dispose();
  if (agent) {
    // members before their pod's sandbox (removing the last member takes the sandbox with it)
    const members = made.filter((record) => !record.pod?.sandbox);
    for (const record of members.reverse()) await agent.client.call('container.remove', { id: record.id, force: true }).catch(() => undefined);
    await stopService(agent);
  }
  removeBridge();
  expect(leftovers(join(work, 'state'), made)).toEqual(NONE_LEFT);
  expect(hostLinkNames().filter((name) => name.startsWith('clnlv-'))).toEqual([]);
  rmSync(work, { recursive: true, force: true });
});

/** The far end as the view shows it equals the kernel's: name, ifindex, namespace, MAC, IPv4 address. */
function expectFarEndAsKernelHasIt(record: ContainerRecord, owner: string): void {
  const pid = record.pid!;
  const eth0 = ipAddr(pid).find((link) => link.ifname === 'eth0')!;
  const hostEnd = ipAddr().find((link) => link.ifindex === eth0.link_index)!;
  expect(hostEnd.ifname).toBe(record.network.vethHost);
  expect(hostEnd.master).toBe(BRIDGE);
  const port = portNamed(hostEnd.ifname)!;
  expect(port.ifindex).toBe(hostEnd.ifindex);
  expect(port.peer).toMatchObject({ name: 'eth0', ifindex: eth0.ifindex, netns: nsInode(pid, 'net'), mac: eth0.address, container: owner });
  expect(port.peer!.addresses.filter((address) => !address.includes(':'))).toEqual(addressesOf(eth0, 'inet'));
}

describe('Networks view, live from notifications', () => {
  it('the first load is one host.snapshot, and it shows the container already there', () => {
    // (the view listened before it loaded: the first container's start was inspected too)
    expect(calls.filter((method) => method !== 'container.inspect')).toEqual(['host.snapshot']);
    expectFarEndAsKernelHasIt(made[0]!, 'netlive-first');
  });

  it('a new container: its port and far end appear from link events and one container.inspect, no snapshot, no guessed far end, redraws coalesced', async () => {
    calls.length = 0;
    redraws = 0;
    notifications = 0;
    const record = await run({ name: 'netlive-second', bridge: BRIDGE, subnet: SUBNET });
    await waitFor(() => portNamed(record.network.vethHost)?.peer ?? null, (peer) => peer !== null && peer.addresses.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the burst settle
    expectFarEndAsKernelHasIt(record, 'netlive-second');
    expect(calls).toEqual(['container.inspect']);
    expect(guessed).toEqual([]);
    expect(redraws).toBeGreaterThan(0);
    expect(redraws, `${redraws} redraws for ${notifications} notifications`).toBeLessThan(notifications);
    // the ports the view lists are the bridge's ports the kernel lists
    expect(ourBridge()!.ports.map((port) => port.name).sort()).toEqual(ipAddr(undefined, ['master', BRIDGE]).map((link) => link.ifname).sort());
  });

  it('a pod (sandbox + 2 members) is one port whose far end belongs to the sandbox; still no snapshot', async () => {
    calls.length = 0;
    await run({ name: 'netlive-pod-web', pod: 'netlive-pod', bridge: BRIDGE, subnet: SUBNET });
    await run({ name: 'netlive-pod-side', pod: 'netlive-pod' });
    const sandbox = await agent.client.call('container.inspect', { id: 'netlive-pod-pause' });
    made.push(sandbox);
    for (const member of made.filter((record) => record.pod?.name === 'netlive-pod')) expect(nsInode(member.pid!, 'net')).toBe(nsInode(sandbox.pid!, 'net'));
    await waitFor(() => portNamed(sandbox.network.vethHost)?.peer ?? null, (peer) => peer !== null && peer.addresses.length > 0);
    await waitFor(() => calls.filter((method) => method === 'container.inspect').length, (inspected) => inspected >= 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expectFarEndAsKernelHasIt(sandbox, 'netlive-pod-pause');
    expect(calls.filter((method) => method !== 'container.inspect')).toEqual([]);
    expect(guessed).toEqual([]);
  });

  it('removing a container removes its port (the kernel has it gone); "Refresh" then agrees with the live picture', async () => {
    const gone = made.find((record) => record.name === 'netlive-second')!;
    await agent.client.call('container.remove', { id: gone.id, force: true });
    await waitFor(() => portNamed(gone.network.vethHost) ?? null, (port) => port === null);
    expect(hostLinkNames()).not.toContain(gone.network.vethHost);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const summary = (bridge: BridgeModel | undefined) =>
      bridge?.ports.map((port) => ({ port: port.name, ifindex: port.ifindex, peer: port.peer && { ...port.peer, addresses: port.peer.addresses.filter((address) => !address.includes(':')) } }));
    const incremental = summary(ourBridge());
    calls.length = 0;
    await live.load();
    expect(calls).toEqual(['host.snapshot']);
    const snapshot = summary(ourBridge());
    // a snapshot names a pod's far end after any container of the namespace; the record, after the sandbox
    const ignoringOwner = (ports: ReturnType<typeof summary>) => ports?.map((entry) => ({ ...entry, peer: entry.peer && { ...entry.peer, container: null } }));
    expect(ignoringOwner(incremental)).toEqual(ignoringOwner(snapshot));
    expect(snapshot).toHaveLength(2);
  });

  it('a veth no container owns: shown without a far end, then the view is told to read the host', async () => {
    // a namespace of this test's own: a process in a new network namespace (unshare -n), killed by its PID after
    const holder: ChildProcess = spawn('unshare', ['-n', 'sleep', '60'], { stdio: 'ignore' });
    try {
      const pid = await waitFor(() => (holder.pid && nsInode(holder.pid, 'net') !== nsInode('self', 'net') ? holder.pid : null), (found) => found !== null);
      incomplete = 0;
      execFileSync('ip', ['link', 'add', 'clnlv-host', 'type', 'veth', 'peer', 'name', 'clnlv-far', 'netns', String(pid)]);
      execFileSync('ip', ['link', 'set', 'clnlv-host', 'master', BRIDGE]);
      await waitFor(() => portNamed('clnlv-host') ?? null, (port) => port !== null);
      expect(portNamed('clnlv-host')!.peer).toBeNull();
      await waitFor(() => incomplete, (count) => count > 0, 5_000);
      expect(incomplete).toBe(1);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // the namespace died with its process, and the pair with it
    await waitFor(() => hostLinkNames().includes('clnlv-host'), (present) => !present);
    expect(errors).toEqual([]);
  });
});

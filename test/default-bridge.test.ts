/*
 * Each runtime has its own default network (agent/runtime/network/default-bridge.ts): two
 * runtimes with different default bridges, side by side as two test files or two agents would
 * be, put containers that name no bridge — a pod's sandbox included — on different bridges with
 * addresses of different subnets. The witness is the kernel: `ip -j link` for the bridge each
 * container's host veth is plugged into, and `ip -j addr` inside the container's network
 * namespace (/proc/PID/ns/net, through nsenter) for eth0's address. Bad settings, as an option or
 * in $CONTAINERS_LAB_BRIDGE / $CONTAINERS_LAB_SUBNET, stop with one line before anything is made.
 *
 * Names: bridges "cldfba0" (10.77.124.0/24) and "cldfbb0" (10.77.125.0/24), containers "dfb-…",
 * pod "dfbpod"; everything is removed in afterAll and the kernel is asked whether anything is left.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord, RunOptions } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { ANNOTATIONS, configFromRunOptions } from '../agent/oci/from-run-options';
import { runCli } from './helpers/cli';
import { addressesOf, ipAddr } from './helpers/ip-addr';
import { hostLinkNames, ipJson, leftovers, NONE_LEFT, nsInode, removeBridgeIfCreated } from './helpers/kernel-witness';

const A = { name: 'cldfba0', subnet: '10.77.124.0/24' };
const B = { name: 'cldfbb0', subnet: '10.77.125.0/24' };

const work = mkdtempSync('/tmp/cl-default-bridge-');
const removeBridges = [removeBridgeIfCreated(A.name), removeBridgeIfCreated(B.name)];
const rootA = join(work, 'a');
const rootB = join(work, 'b');
let runtimeA: ContainerRuntime;
let runtimeB: ContainerRuntime;
/** Every container made, by state root, for the final leftover check. */
const made = new Map<string, { id: string; pid: number | null }[]>([[rootA, []], [rootB, []]]);

async function run(runtime: ContainerRuntime, options: RunOptions): Promise<ContainerRecord> {
  const record = await runtime.run({ args: ['sleep', '120'], ...options });
  made.get(runtime.info().stateRoot)!.push({ id: record.id, pid: record.pid });
  return record;
}

interface HostLink { ifindex: number; ifname: string; master?: string }

/** The bridge the host end of `pid`'s eth0 is plugged into, found from the kernel alone. */
function bridgeOfContainer(pid: number): string | undefined {
  const eth0 = ipAddr(pid, ['dev', 'eth0'])[0]!;
  const hostEnd = ipJson<HostLink[]>(['link', 'show']).find((link) => link.ifindex === eth0.link_index);
  return hostEnd?.master;
}

/** eth0's IPv4 addresses inside `pid`'s network namespace. */
const eth0Addresses = (pid: number): string[] => addressesOf(ipAddr(pid, ['dev', 'eth0'])[0]!, 'inet');

beforeAll(() => {
  runtimeA = openRuntime({ stateRoot: rootA, defaultBridge: A });
  runtimeB = openRuntime({ stateRoot: rootB, defaultBridge: B });
});

afterAll(async () => {
  for (const runtime of [runtimeA, runtimeB]) {
    // Newest first: a pod's last member takes the sandbox that holds the pod together with it.
    for (let newest = runtime?.list().at(-1); newest; newest = runtime.list().at(-1)) await runtime.remove(newest.id, true);
    runtime?.close();
  }
  for (const removeBridge of removeBridges) removeBridge();
  for (const [root, containers] of made) expect(leftovers(root, containers)).toEqual(NONE_LEFT);
  expect(hostLinkNames().filter((name) => name === A.name || name === B.name)).toEqual([]);
  rmSync(work, { recursive: true, force: true });
});

describe('two runtimes, two default bridges', () => {
  test('a container that names no bridge goes on its runtime\'s bridge, with an address of that subnet', async () => {
    const onA = await run(runtimeA, { name: 'dfb-a' });
    const onB = await run(runtimeB, { name: 'dfb-b' });
    for (const record of [onA, onB]) expect(nsInode(record.pid!, 'net')).not.toBe(nsInode('self', 'net'));

    expect(bridgeOfContainer(onA.pid!)).toBe(A.name);
    expect(bridgeOfContainer(onB.pid!)).toBe(B.name);
    // Each runtime's first lease on its own subnet; the bridges hold the gateways.
    expect(eth0Addresses(onA.pid!)).toEqual(['10.77.124.2/24']);
    expect(eth0Addresses(onB.pid!)).toEqual(['10.77.125.2/24']);
    expect(addressesOf(ipAddr(undefined, ['dev', A.name])[0]!, 'inet')).toEqual(['10.77.124.1/24']);
    expect(addressesOf(ipAddr(undefined, ['dev', B.name])[0]!, 'inet')).toEqual(['10.77.125.1/24']);

    // The container's document says which network it was made for, whatever the runtime's default later is.
    expect(onA.config.annotations).toMatchObject({ [ANNOTATIONS.bridge]: A.name, [ANNOTATIONS.subnet]: A.subnet });
    expect(onB.config.annotations).toMatchObject({ [ANNOTATIONS.bridge]: B.name, [ANNOTATIONS.subnet]: B.subnet });
  });

  test('a pod\'s sandbox holds the pod\'s network on its runtime\'s default bridge; the member is in it', async () => {
    const member = await run(runtimeA, { name: 'dfb-member', pod: 'dfbpod' });
    const sandbox = runtimeA.inspect('dfbpod-pause');
    made.get(rootA)!.push({ id: sandbox.id, pid: sandbox.pid });
    expect(nsInode(member.pid!, 'net')).toBe(nsInode(sandbox.pid!, 'net'));
    expect(bridgeOfContainer(sandbox.pid!)).toBe(A.name);
    expect(eth0Addresses(member.pid!)).toEqual([expect.stringMatching(/^10\.77\.124\.\d+\/24$/)]);
  });

  test('an explicit --bridge still wins, and without --subnet takes the runtime\'s subnet', () => {
    const spec = configFromRunOptions({ name: 'dfb-doc', bridge: 'cldfbx0' }, { rootfs: '/nowhere', bridge: A });
    expect(spec.annotations).toMatchObject({ [ANNOTATIONS.bridge]: 'cldfbx0', [ANNOTATIONS.subnet]: A.subnet });
    const learner = configFromRunOptions({ name: 'dfb-doc' }, { rootfs: '/nowhere' });
    expect(learner.annotations).toMatchObject({ [ANNOTATIONS.bridge]: 'cl0', [ANNOTATIONS.subnet]: '10.77.0.0/24' });
  });
});

describe('bad settings: one line, nothing made', () => {
  const saved = { bridge: process.env.CONTAINERS_LAB_BRIDGE, subnet: process.env.CONTAINERS_LAB_SUBNET };
  afterEach(() => {
    for (const [variable, value] of [['CONTAINERS_LAB_BRIDGE', saved.bridge], ['CONTAINERS_LAB_SUBNET', saved.subnet]] as const) {
      if (value === undefined) delete process.env[variable];
      else process.env[variable] = value;
    }
  });

  test.each([
    ['CONTAINERS_LAB_SUBNET', '10.77.124.5/24', /^containers-lab: CONTAINERS_LAB_SUBNET: invalid subnet "10\.77\.124\.5\/24": host bits are set \(did you mean 10\.77\.124\.0\/24\?\)\n$/],
    ['CONTAINERS_LAB_SUBNET', 'ten.77/24', /^containers-lab: CONTAINERS_LAB_SUBNET: invalid subnet "ten\.77\/24": expected IPv4 CIDR notation/],
    ['CONTAINERS_LAB_BRIDGE', 'bridge-name-too-long', /^containers-lab: CONTAINERS_LAB_BRIDGE: invalid bridge name "bridge-name-too-long"/],
  ])('%s=%s: the CLI stops with one line and leaves the state root unmade', async (variable, value, pattern) => {
    process.env[variable] = value;
    const root = join(work, `never-${variable}`);
    const result = await runCli(['--root', root, '--socket', join(work, 'no-agent.sock'), 'ps']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
    expect(existsSync(root)).toBe(false);
  });

  test('serve with a bad $CONTAINERS_LAB_SUBNET stops with one line before it makes its socket', async () => {
    process.env.CONTAINERS_LAB_SUBNET = '10.77.125.0/31';
    const socket = join(work, 'serve', 'agent.sock');
    const result = await runCli(['--root', join(work, 'never-serve'), 'serve', '--socket', socket]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^containers-lab: CONTAINERS_LAB_SUBNET: subnet "10\.77\.125\.0\/31" is too small/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(join(work, 'never-serve'))).toBe(false);
  });

  test('openRuntime refuses a bad defaultBridge with one line naming the field', () => {
    expect(() => openRuntime({ stateRoot: join(work, 'never-option'), defaultBridge: { name: 'bad name', subnet: A.subnet } }))
      .toThrow(/^defaultBridge\.name: invalid bridge name "bad name"/);
    expect(() => openRuntime({ stateRoot: join(work, 'never-option'), defaultBridge: { name: 'cldfbc0', subnet: '10.77.126.0/33' } }))
      .toThrow(/^defaultBridge\.subnet: invalid subnet "10\.77\.126\.0\/33": prefix length/);
    expect(existsSync(join(work, 'never-option'))).toBe(false);
    expect(hostLinkNames()).not.toContain('cldfbc0');
  });
});

/*
 * A lab's nodes (agent/labs/nodes.ts) on the real kernel, beyond what the lab harness grades:
 * exercise 46's setup really is an overlay with one entry missing — `ip -d link` shows VXLAN 46 on
 * both nodes, `bridge fdb` on node a lacks node b's address until the reference solution puts it
 * back —, and stop leaves nothing of either node: its agent's process, its containers' processes
 * and cgroups, its network namespace. A bad `nodes` action is a one-line error with nothing made.
 *
 * Subnets: the lab network pool (10.78.N.0/24), inside namespaces this file's attempts make.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { LabEngine } from '../agent/labs/engine';
import { openRuntime } from '../agent/runtime/runtime';
import type { ContainerRuntime } from '../agent/runtime/api';
import type { ContainerSummary } from '../agent/protocol';
import { cgroupDirsNamed, processExists } from './helpers/kernel-witness';
import { LABS_DIRECTORY, useThisCheckoutsCli } from './labs-harness';

let stateRoot: string;
let runtime: ContainerRuntime;
let engine: LabEngine;

beforeAll(() => {
  useThisCheckoutsCli();
  stateRoot = mkdtempSync('/tmp/netlabs-nodes-');
  runtime = openRuntime({ stateRoot, defaultBridge: { name: 'clnetlabs0', subnet: '10.77.197.0/24' } });
  engine = new LabEngine(runtime, { stateRoot, labsDirectory: LABS_DIRECTORY });
});

afterAll(() => {
  engine.close();
  runtime.close();
  rmSync(stateRoot, { recursive: true, force: true });
});

interface Made { name: string; netns: string; pid: number }
const madeNodes = (workdir: string): Made[] => JSON.parse(readFileSync(join(workdir, 'nodes.json'), 'utf8')) as Made[];
const nodePs = (workdir: string, node: string): ContainerSummary[] =>
  JSON.parse(execFileSync(join(workdir, `node-${node}`, 'containers-lab'), ['ps', '-a', '--json'], { encoding: 'utf8' })) as ContainerSummary[];
const vxlanIds = (netns: string): number[] =>
  (JSON.parse(execFileSync('ip', ['-n', netns, '-j', '-d', 'link', 'show', 'type', 'vxlan'], { encoding: 'utf8' })) as { linkinfo: { info_data: { id: number } } }[])
    .map((link) => link.linkinfo.info_data.id);
const fdbDestinations = (netns: string): string[] =>
  (JSON.parse(execFileSync('bridge', ['-n', netns, '-j', 'fdb', 'show', 'dev', 'clvx46'], { encoding: 'utf8' })) as { dst?: string }[])
    .flatMap((entry) => (entry.dst ? [entry.dst] : []));

test('cross-node-fault: a real overlay with node b missing from node a\'s FDB; solved, it is back; stop leaves no agent, container, cgroup or namespace', { timeout: 180_000 }, async () => {
  const started = await engine.start('cross-node-fault');
  const nodes = madeNodes(started.workdir);
  expect(nodes.map((node) => node.name)).toEqual(['a', 'b']);
  const [a, b] = nodes as [Made, Made];
  for (const node of nodes) {
    expect(existsSync(`/run/netns/${node.netns}`)).toBe(true);
    expect(processExists(node.pid)).toBe(true);
    expect(vxlanIds(node.netns)).toEqual([46]);
  }
  const addressB = (JSON.parse(execFileSync('ip', ['-n', b.netns, '-j', '-4', 'addr', 'show', 'dev', 'eth1'], { encoding: 'utf8' })) as { addr_info: { local: string }[] }[])[0]!.addr_info[0]!.local;
  const addressA = (JSON.parse(execFileSync('ip', ['-n', a.netns, '-j', '-4', 'addr', 'show', 'dev', 'eth1'], { encoding: 'utf8' })) as { addr_info: { local: string }[] }[])[0]!.addr_info[0]!.local;
  // The fault, in the kernel: node b still sends to node a; node a has no entry toward node b.
  expect(fdbDestinations(a.netns)).not.toContain(addressB);
  expect(fdbDestinations(b.netns)).toContain(addressA);
  const containers = [...nodePs(started.workdir, 'a'), ...nodePs(started.workdir, 'b')];
  expect(containers.map((container) => container.name).sort()).toEqual(['client', 'web']);
  // The container's MTU is the overlay's, read in its own network namespace.
  const client = containers.find((container) => container.name === 'client')!;
  const eth0 = JSON.parse(execFileSync('nsenter', ['-t', String(client.pid), '-n', 'ip', '-j', 'link', 'show', 'dev', 'eth0'], { encoding: 'utf8' })) as { mtu: number }[];
  expect(eth0[0]!.mtu).toBe(1450);

  // The witnesses below can see what they look for: each container has its cgroups now.
  for (const container of containers) expect(cgroupDirsNamed(container.id).length).toBeGreaterThan(0);

  const solved = await engine.solve('cross-node-fault');
  expect(solved).toMatchObject({ passed: true, score: solved.max });
  expect(fdbDestinations(a.netns)).toContain(addressB);

  await engine.stop('cross-node-fault');
  for (const node of nodes) {
    expect(existsSync(`/run/netns/${node.netns}`)).toBe(false);
    expect(processExists(node.pid)).toBe(false);
  }
  for (const container of containers) {
    expect(processExists(container.pid!)).toBe(false);
    expect(cgroupDirsNamed(container.id)).toEqual([]);
  }
  expect(existsSync(started.workdir)).toBe(false);
});

test('a bad nodes action (a link that is no /24) is a one-line error, and nothing is made', async () => {
  const labs = mkdtempSync('/tmp/netlabs-labfiles-');
  try {
    mkdirSync(join(labs, 'levels'));
    mkdirSync(join(labs, 'exercises'));
    const text = readFileSync(join(LABS_DIRECTORY, 'levels', '26-two-nodes.yaml'), 'utf8').replace('link: "{{subnet:link}}"', 'link: "10.78.0.0/16"');
    writeFileSync(join(labs, 'levels', '26-two-nodes.yaml'), text);
    const other = new LabEngine(runtime, { stateRoot, labsDirectory: labs });
    const namespaces = (): string[] => (existsSync('/run/netns') ? readdirSync('/run/netns') : []).filter((name) => name.startsWith('clnode-'));
    const netnsBefore = namespaces();
    await expect(other.start('two-nodes')).rejects.toThrow(/^nodes: the link between the nodes is a \/24, not 10\.78\.0\.0\/16$/);
    other.close();
    expect(namespaces()).toEqual(netnsBefore);
    expect(existsSync(other.workdir('two-nodes'))).toBe(false);
  } finally {
    rmSync(labs, { recursive: true, force: true });
  }
});

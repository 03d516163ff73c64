/*
 * Several nodes on the real kernel: two network namespaces joined by a veth play two machines,
 * each with its own agent (own state root, socket, bridge and subnet). Containers on node A reach
 * containers on node B — ping and HTTP, with the caller's own address — in routed mode and in
 * overlay mode; a 1400-byte ping with "don't fragment" crosses the overlay and a 1423-byte one is
 * refused at the container (the MTU is the overlay's). The witnesses are the kernel's own: `ip -j
 * route`, `ip -j -d link` (the VXLAN device), `bridge -j fdb`, `ip -j neigh`, `nft -j`, the
 * containers' /sys/class/net/eth0/mtu. After every mode switch and node removal nothing of the old
 * mode is left. Bad input is a one-line error with the state file and the kernel unchanged.
 *
 * Subnets: 10.77.183.0/24 between the nodes, 10.77.181.0/24 (A) and 10.77.182.0/24 (B) for
 * containers — all inside the two namespaces this file makes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { NodesView } from '../agent/protocol';
import { NOTES_ROOT } from '../agent/runtime/network/ports/nft';
import { ipIn, joinNamespaces, removeNamespaces, restartNode, startNode, stopNode, type NodeSpec, type RunningNode } from './helpers/two-nodes';

const A: NodeSpec = { netns: 'clnd-a', address: '10.77.183.1', bridge: 'clnd0', subnet: '10.77.181.0/24' };
const B: NodeSpec = { netns: 'clnd-b', address: '10.77.183.2', bridge: 'clnd0', subnet: '10.77.182.0/24' };
const VNI = 4242;
const VXLAN = `clvx${VNI}`;
const MAC_A = '0a:58:0a:4d:b5:00'; // made from 10.77.181.0
const MAC_B = '0a:58:0a:4d:b6:00'; // made from 10.77.182.0

let a: RunningNode;
let b: RunningNode;
const ips: Record<string, string> = {};

interface Route { dst: string; gateway?: string; dev?: string; protocol?: string; flags?: string[] }
interface Link { ifname: string; mtu: number; master?: string; linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } } }
interface Fdb { mac: string; dst?: string; flags?: string[]; master?: string; state?: string }
interface Neigh { dst: string; lladdr?: string; state?: string[] }

const agentRoutes = (node: NodeSpec): Route[] => ipIn<Route[]>(node.netns, ['route', 'show', 'proto', '77']);
const vxlans = (node: NodeSpec): Link[] => ipIn<Link[]>(node.netns, ['-d', 'link', 'show', 'type', 'vxlan']);
const fdbOf = (node: NodeSpec, dev: string): Fdb[] => JSON.parse(execFileSync('bridge', ['-n', node.netns, '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' }) || '[]') as Fdb[];
const permanentNeighbours = (node: NodeSpec): Neigh[] =>
  ipIn<Neigh[]>(node.netns, ['neigh', 'show', 'dev', node.bridge]).filter((entry) => entry.state?.includes('PERMANENT'));
const sysctlIn = (node: RunningNode, name: string): string => node.host('sysctl', ['-n', name]).trim();

/** The agent's nft rules for nodes (comment "node …"), as the kernel lists them. */
function nodeRules(node: RunningNode): string[] {
  let text: string;
  try {
    text = node.host('nft', ['-j', 'list', 'table', 'ip', 'containers_lab']);
  } catch {
    return [];
  }
  const items = (JSON.parse(text) as { nftables: { rule?: { comment?: string } }[] }).nftables;
  return items.flatMap((item) => (item.rule?.comment?.startsWith('node ') ? [item.rule.comment] : []));
}

async function ok(node: RunningNode, args: string[]): Promise<string> {
  const result = await node.cli(args);
  expect(result.stderr, `${args.join(' ')} on ${node.netns}`).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

async function view(node: RunningNode): Promise<NodesView> {
  return JSON.parse(await ok(node, ['node', 'ls', '--json'])) as NodesView;
}

/** ping from a container on `from` to `ip`, through the agent (busybox ping). */
async function ping(from: RunningNode, container: string, ip: string): Promise<number> {
  return (await from.cli(['exec', container, '--', 'ping', '-c', '2', '-W', '2', ip])).code;
}

/** HTTP from a container to b1's CGI: the address b1's server saw its client come from. */
async function fetchAddr(from: RunningNode, container: string, ip: string): Promise<string> {
  const result = await from.cli(['exec', container, '--', 'sh', '-c', `printf 'GET /cgi-bin/addr HTTP/1.0\\r\\n\\r\\n' | timeout 10 nc ${ip} 8080`]);
  expect(result.code, result.stderr).toBe(0);
  // busybox httpd listens on IPv6 and writes an IPv4 client as [::ffff:a.b.c.d].
  return result.stdout.trim().split('\n').pop()!.trim().replace(/^\[::ffff:(.*)\]$/, '$1');
}

const pidOf = async (node: RunningNode, name: string): Promise<number> => (await node.service.client.call('container.inspect', { id: name })).pid!;

/** iputils ping with "don't fragment" (-M do) from inside a container's network namespace. */
function pingDf(pid: number, ip: string, size: number): { code: number; output: string } {
  try {
    return { code: 0, output: execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ping', '-M', 'do', '-s', String(size), '-c', '2', '-W', '2', ip], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { code: failed.status, output: `${failed.stdout}${failed.stderr}` };
  }
}

const mtuInside = (pid: number): number => Number(readFileSync(`/proc/${pid}/root/sys/class/net/eth0/mtu`, 'utf8').trim());

/** Nothing of routed or overlay mode in node's namespace. */
function expectNothingOfNodes(node: RunningNode): void {
  expect(agentRoutes(node)).toEqual([]);
  expect(vxlans(node)).toEqual([]);
  expect(permanentNeighbours(node)).toEqual([]);
  expect(fdbOf(node, node.bridge).filter((entry) => entry.mac.startsWith('0a:58:'))).toEqual([]);
  expect(nodeRules(node)).toEqual([]);
}

beforeAll(async () => {
  joinNamespaces(A, B, 'clnd-u');
  [a, b] = await Promise.all([startNode(A), startNode(B)]);
  for (const [node, name] of [[a, 'a1'], [b, 'b1']] as const) {
    const record = await node.service.client.call('container.run', { name, net: 'bridge' });
    ips[name] = record.network.ip!;
  }
  // b1 serves a CGI that answers with its client's address.
  const serve = await b.cli(['exec', 'b1', '--', 'sh', '-c',
    `mkdir -p /tmp/www/cgi-bin && printf '#!/bin/sh\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n%%s\\\\n" "$REMOTE_ADDR"\\n' > /tmp/www/cgi-bin/addr && chmod +x /tmp/www/cgi-bin/addr && httpd -p 8080 -h /tmp/www`]);
  expect(serve.code, serve.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  for (const node of [a, b]) if (node) await stopNode(node).catch(() => undefined);
  // the agents' notes about each node's netfilter (its ip_forward before NAT) go with the node
  const notes = [A, B].map((spec) => join(NOTES_ROOT, `net-${statSync(`/run/netns/${spec.netns}`).ino}`));
  removeNamespaces(A, B);
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  expect(left).not.toMatch(/clnd-/);
  expect(notes.filter((directory) => existsSync(directory))).toEqual([]);
}, 60_000);

describe('nodes: bad input is one line, nothing changes', () => {
  test('a peer subnet overlapping this node’s, another peer’s; an unknown node; a bad address; a VNI in use', async () => {
    expect(ips.a1).toMatch(/^10\.77\.181\./);
    await ok(a, ['node', 'add', 'b', B.address, B.subnet]);
    const before = readFileSync(`${a.root}/nodes/network.json`, 'utf8');
    const cases: [string[], RegExp][] = [
      [['node', 'add', 'c', '10.77.183.9', '10.77.181.128/25'], /overlaps this node's 10\.77\.181\.0\/24/],
      [['node', 'add', 'c', '10.77.183.9', '10.77.182.0/23'], /overlaps node b's 10\.77\.182\.0\/24/],
      [['node', 'add', 'b', '10.77.183.9', '10.77.190.0/24'], /node b is known already/],
      [['node', 'add', 'c', '10.77.183.1', '10.77.190.0/24'], /10\.77\.183\.1 is an address of this node/],
      [['node', 'add', 'c', '10.77.300.9', '10.77.190.0/24'], /invalid node address/],
      [['node', 'rm', 'nosuch'], /unknown node "nosuch"/],
      [['node', 'mode', 'mesh'], /"mesh" is not one of none, routed, overlay/],
    ];
    for (const [args, message] of cases) {
      const result = await a.cli(args);
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
    }
    // A VXLAN device that is not the agent's holds the VNI.
    a.host('ip', ['link', 'add', 'clnd-other', 'type', 'vxlan', 'id', String(VNI), 'dstport', '4789', 'local', A.address]);
    try {
      const taken = await a.cli(['node', 'mode', 'overlay', '--vni', String(VNI)]);
      expect(taken.code).not.toBe(0);
      expect(taken.stderr.trim()).toMatch(new RegExp(`^containers-lab: .*VNI ${VNI} is in use by VXLAN device clnd-other`));
    } finally {
      a.host('ip', ['link', 'del', 'clnd-other']);
    }
    expect(readFileSync(`${a.root}/nodes/network.json`, 'utf8')).toBe(before);
    expectNothingOfNodes(a);
    expect((await view(a)).mode).toBe('none');
  });
});

describe('routed mode', () => {
  test('a route per peer subnet via the peer; containers reach each other with their own addresses', async () => {
    await ok(b, ['node', 'add', 'a', A.address, A.subnet]);
    // Not joined yet: A has no way to B's containers.
    expect(await ping(a, 'a1', ips.b1!)).not.toBe(0);
    await ok(a, ['node', 'mode', 'routed']);
    await ok(b, ['node', 'mode', 'routed']);
    expect(agentRoutes(a)).toEqual([expect.objectContaining({ dst: B.subnet, gateway: B.address, dev: 'clnd-ua' })]);
    expect(agentRoutes(b)).toEqual([expect.objectContaining({ dst: A.subnet, gateway: A.address, dev: 'clnd-ub' })]);
    expect(sysctlIn(a, 'net.ipv4.ip_forward')).toBe('1');
    expect(nodeRules(a)).toEqual([`node b: ${B.subnet} reached from ${A.subnet} unmasqueraded`]);
    expect(vxlans(a)).toEqual([]);
    expect(await ping(a, 'a1', ips.b1!)).toBe(0);
    expect(await fetchAddr(a, 'a1', ips.b1!)).toBe(ips.a1);
    const listed = await view(a);
    expect(listed.nodes).toEqual([{ name: 'b', address: B.address, subnet: B.subnet, path: { route: `${B.subnet} via ${B.address}`, vtepMac: null } }]);
    expect(listed.self).toMatchObject({ bridge: A.bridge, subnet: A.subnet, address: A.address, vxlan: null });
  }, 60_000);

  test('the agent makes its routes again at start, once', async () => {
    a = await restartNode(a, () => {
      a.host('ip', ['route', 'del', B.subnet]); // as after a reboot
      expect(agentRoutes(a)).toEqual([]);
    });
    expect(agentRoutes(a)).toEqual([expect.objectContaining({ dst: B.subnet, gateway: B.address })]);
    expect(await ping(a, 'a1', ips.b1!)).toBe(0);
    // A second start finds its own route there and does not make a second one.
    a = await restartNode(a);
    expect(agentRoutes(a)).toHaveLength(1);
  }, 60_000);
});

describe('overlay mode', () => {
  test('a VXLAN device on the bridge, FDB and neighbour entries per peer, the MTU lowered by 50 for every container', async () => {
    await ok(a, ['node', 'mode', 'overlay', '--vni', String(VNI)]);
    // Switching left nothing of routed mode on A: the one proto-77 route is the overlay's.
    expect(agentRoutes(a)).toEqual([expect.objectContaining({ dst: B.subnet, gateway: '10.77.182.1', dev: A.bridge, flags: ['onlink'] })]);
    await ok(b, ['node', 'mode', 'overlay', '--vni', String(VNI)]);

    const [device] = vxlans(a);
    expect(device).toMatchObject({ ifname: VXLAN, mtu: 1450, master: A.bridge, linkinfo: { info_kind: 'vxlan', info_data: { id: VNI, local: A.address, port: 4789 } } });
    const fdb = fdbOf(a, VXLAN).filter((entry) => entry.mac === MAC_B);
    expect(fdb).toEqual(expect.arrayContaining([
      expect.objectContaining({ mac: MAC_B, dst: B.address, state: 'permanent' }),
      expect.objectContaining({ mac: MAC_B, master: A.bridge, state: 'static' }),
    ]));
    expect(permanentNeighbours(a)).toEqual([expect.objectContaining({ dst: '10.77.182.1', lladdr: MAC_B })]);
    expect(vxlans(b)[0]).toMatchObject({ ifname: VXLAN, linkinfo: { info_data: { local: B.address } } });
    expect(ipIn<Link[]>(B.netns, ['link', 'show', VXLAN])[0]!.mtu).toBe(1450);
    expect(fdbOf(b, VXLAN).some((entry) => entry.mac === MAC_A && entry.dst === A.address)).toBe(true);

    // a1 was there before: its MTU went down with the overlay, as a container made now gets it.
    expect(mtuInside(await pidOf(a, 'a1'))).toBe(1450);
    await ok(a, ['run', '-d', '--name', 'a2', '--net', 'bridge', 'busybox']);
    ips.a2 = (await a.service.client.call('container.inspect', { id: 'a2' })).network.ip!;
    expect(mtuInside(await pidOf(a, 'a2'))).toBe(1450);

    expect(await ping(a, 'a1', ips.b1!)).toBe(0);
    expect(await ping(a, 'a2', ips.b1!)).toBe(0);
    expect(await fetchAddr(a, 'a2', ips.b1!)).toBe(ips.a2);
  }, 60_000);

  test('a 1400-byte packet with "don’t fragment" crosses the overlay; one over 1450 is refused at the container', async () => {
    const pid = await pidOf(a, 'a1');
    const fits = pingDf(pid, ips.b1!, 1400);
    expect(fits.code, fits.output).toBe(0);
    expect(fits.output).toMatch(/1408 bytes from/);
    const tooBig = pingDf(pid, ips.b1!, 1423); // 1423 + 8 ICMP + 20 IP = 1451
    expect(tooBig.code).not.toBe(0);
    expect(tooBig.output).toMatch(/mtu = 1450|message too long/i);
  });

  test('removing the peer takes its route and entries, and the device with the last peer; containers get 1500 back', async () => {
    await ok(a, ['node', 'rm', 'b']);
    expectNothingOfNodes(a);
    expect(mtuInside(await pidOf(a, 'a1'))).toBe(1500);
    expect(mtuInside(await pidOf(a, 'a2'))).toBe(1500);
    expect(await ping(a, 'a1', ips.b1!)).not.toBe(0);
    const listed = await view(a);
    expect(listed).toMatchObject({ mode: 'overlay', nodes: [], self: { vxlan: null } });
    // Adding it again in overlay mode makes the device again.
    await ok(a, ['node', 'add', 'b', B.address, B.subnet]);
    expect(vxlans(a)).toHaveLength(1);
    expect(await ping(a, 'a1', ips.b1!)).toBe(0);
  }, 60_000);

  test('mode none removes everything either mode made, and nothing of another agent on the same host', async () => {
    // A route with the agents' protocol number that another agent on node A made (a second state
    // root beside the service, as the lab VM's tests run): not this agent's to remove.
    const othersSubnet = '10.77.189.0/24';
    a.host('ip', ['route', 'add', othersSubnet, 'via', B.address, 'proto', '77']);
    for (const node of [a, b]) {
      await ok(node, ['node', 'mode', 'none']);
      if (node === a) {
        expect(agentRoutes(a)).toEqual([expect.objectContaining({ dst: othersSubnet, gateway: B.address })]);
        a.host('ip', ['route', 'del', othersSubnet]);
      }
      expectNothingOfNodes(node);
    }
    expect(mtuInside(await pidOf(a, 'a1'))).toBe(1500);
    expect(await ping(a, 'a1', ips.b1!)).not.toBe(0);
    // The peers stay known for the next mode.
    expect((await view(a)).nodes.map((node) => node.name)).toEqual(['b']);
    await ok(a, ['node', 'mode', 'routed']);
    await ok(a, ['node', 'rm', 'b']);
    expectNothingOfNodes(a);
  }, 60_000);
});

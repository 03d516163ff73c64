/*
 * Nodes of a lab: several "machines" on one lab host, for exercises where containers on one node
 * must reach containers on another (routed or overlay networking, ../runtime/network/nodes/).
 *
 * A node is what a machine is to its containers: a network namespace of its own (its links,
 * routes, bridge, VXLAN device, nftables table, ip_forward) with its own agent — `containers-lab
 * serve` with a state root, socket, default bridge and container subnet of its own — running
 * inside it, and a command of its own, {{workdir}}/node-NAME/containers-lab (the CLI on that
 * agent's state root and socket: what `ssh node-a containers-lab` would be). The two nodes are
 * joined by a veth (eth1 in each), the network between the machines: the first gets host 1 of the
 * link's /24, the second host 2. The learner works on a node through its command
 * ({{workdir}}/node-a/containers-lab node ls) and looks at its kernel with
 * `ip -n NETNS …` and `bridge -n NETNS …` — the lab host sees every node, as a cluster admin with
 * ssh to each machine would.
 *
 * `ip netns exec` gives the agent its namespace and a /sys that shows that namespace's links (the
 * agent reads /sys/class/net), but the fresh /sys lacks the cgroup tree mounted under it. So the
 * agent starts in a mount namespace of its own (a slave of the host's: nothing it mounts leaks
 * back) where the cgroup tree is first bound aside, then bound again under the new /sys.
 *
 * What was made is written to {{workdir}}/nodes.json as it is made, so teardown (also after a
 * crash, before the next start) finds it: each node's containers are removed through its agent,
 * the agent is stopped (its PID, checked to still be that agent), and the namespace is deleted —
 * and with it every link, route, neighbour and FDB entry and nftables table inside (and the
 * agent's notes about that netfilter in /run).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { badInput } from '../errors';
import { parseSubnet } from '../runtime/network/addresses';
import { forgetNotesOf } from '../runtime/network/ports/nft';
import { DEFAULT_VNI, writeNodesState } from '../runtime/network/nodes/state';
import type { LabContext } from './context';
import type { LabNodeSpec, LabNodesSpec } from './format';
import { labCli } from './template';

interface MadeNode {
  name: string;
  netns: string;
  socket: string;
  pid: number | null;
}

const RECORD = 'nodes.json';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

const nodeDirectory = (workdir: string, name: string): string => join(workdir, `node-${name}`);

function nodeSocket(workdir: string, name: string): string {
  return join(nodeDirectory(workdir, name), 'agent.sock');
}

function readMade(workdir: string): MadeNode[] {
  try {
    return JSON.parse(readFileSync(join(workdir, RECORD), 'utf8')) as MadeNode[];
  } catch {
    return [];
  }
}

/** A node the running attempt made (its namespace and socket), or null. */
export function labNode(workdir: string, name: string): MadeNode | null {
  return readMade(workdir).find((node) => node.name === name) ?? null;
}

function writeMade(workdir: string, made: MadeNode[]): void {
  writeFileSync(join(workdir, RECORD), `${JSON.stringify(made, null, 2)}\n`);
}

function ip(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const said = String((error as { stderr?: Buffer }).stderr ?? '').trim().split('\n').pop() ?? '';
    throw badInput(`nodes: ip ${args.join(' ')}: ${said || (error as Error).message}`);
  }
}

/** The node's own CLI: a script running `containers-lab` against that node's agent (its state root and socket). */
export function nodeCommand(workdir: string, name: string): string {
  return join(nodeDirectory(workdir, name), 'containers-lab');
}

/** A word for sh, in single quotes. */
const shellWord = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;

function writeNodeCommand(directory: string): void {
  const script = join(directory, 'containers-lab');
  const argv = [...labCli().split(/\s+/), '--root', join(directory, 'root'), '--socket', join(directory, 'agent.sock')];
  writeFileSync(script, `#!/bin/sh\n# containers-lab on this lab node: its agent's state root and socket.\nexec ${argv.map(shellWord).join(' ')} "$@"\n`);
  chmodSync(script, 0o755);
}

/** Runs the node's CLI with these arguments: how it ended and what it said. */
export function nodeCli(workdir: string, node: string, args: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(nodeCommand(workdir, node), args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: error && !stderr ? error.message : stderr });
    });
  });
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socket);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Starts the node's agent inside its namespace (detached: it outlives a one-shot CLI), tells
 * `spawned` its PID at once (so a failed start is still cleaned up), and waits until it answers.
 */
async function startAgent(node: LabNodeSpec, directory: string, spawned: (pid: number) => void): Promise<void> {
  const cgroups = join(directory, 'cgroups');
  mkdirSync(cgroups, { recursive: true });
  writeNodeCommand(directory);
  const socket = join(directory, 'agent.sock');
  const log = openSync(join(directory, 'agent.log'), 'a');
  const serve = [...labCli().split(/\s+/), 'serve', '--root', join(directory, 'root'), '--socket', socket];
  // Paths and names reach the shells as variables and arguments, never spliced into the script.
  const script = 'mount --rbind /sys/fs/cgroup "$LAB_NODE_CGROUPS" && exec ip netns exec "$LAB_NODE_NETNS" sh -c \'mount --rbind "$LAB_NODE_CGROUPS" /sys/fs/cgroup && exec "$@"\' agent "$@"';
  const child = spawn('unshare', ['--mount', '--propagation', 'slave', 'sh', '-c', script, 'node', ...serve], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, LAB_NODE_CGROUPS: cgroups, LAB_NODE_NETNS: node.netns, CONTAINERS_LAB_BRIDGE: node.bridge, CONTAINERS_LAB_SUBNET: node.subnet },
  });
  closeSync(log);
  child.unref();
  if (child.pid === undefined) throw badInput(`nodes: the agent of node ${node.name} did not start`);
  spawned(child.pid);
  for (const deadline = Date.now() + START_TIMEOUT_MS; !(await answers(socket)); ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const said = readFileSync(join(directory, 'agent.log'), 'utf8').trim().split('\n').pop() ?? '';
      throw badInput(`nodes: the agent of node ${node.name} did not start: ${said}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Makes the nodes: their namespaces, the link between them, and an agent in each. */
export async function makeLabNodes(spec: LabNodesSpec, context: LabContext): Promise<void> {
  const link = parseSubnet(spec.link);
  if (link.prefixLength !== 24) throw badInput(`nodes: the link between the nodes is a /24, not ${spec.link}`);
  if (spec.nodes.length !== 2) throw badInput(`nodes: a lab has two nodes joined by one link, not ${spec.nodes.length}`);
  const prefix = spec.link.split('.').slice(0, 3).join('.');
  const made = readMade(context.workdir);
  for (const node of spec.nodes) {
    ip(['netns', 'add', node.netns]);
    made.push({ name: node.name, netns: node.netns, socket: nodeSocket(context.workdir, node.name), pid: null });
    writeMade(context.workdir, made);
    ip(['-n', node.netns, 'link', 'set', 'lo', 'up']);
  }
  // The network between the two machines: a veth from one namespace to the other, eth1 at both ends.
  ip(['link', 'add', 'eth1', 'netns', spec.nodes[0]!.netns, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', spec.nodes[1]!.netns]);
  for (const [index, node] of spec.nodes.entries()) {
    ip(['-n', node.netns, 'addr', 'add', `${prefix}.${index + 1}/24`, 'dev', 'eth1']);
    ip(['-n', node.netns, 'link', 'set', 'eth1', 'up']);
  }
  // Each agent is told the other node (its name, address and subnet) and the mode, as `node add`
  // and `node mode` would write it: the agent makes the routes or the tunnel when it starts. With
  // mode none the agents know nothing of each other: joining them is the learner's part.
  for (const [index, node] of spec.mode === 'none' ? [] : spec.nodes.entries()) {
    const peer = spec.nodes[1 - index]!;
    writeNodesState(join(nodeDirectory(context.workdir, node.name), 'root'), {
      mode: spec.mode, vni: spec.vni ?? DEFAULT_VNI, overlay: null,
      nodes: [{ name: peer.name, address: `${prefix}.${2 - index}`, subnet: peer.subnet }],
    });
  }
  await Promise.all(spec.nodes.map((node) => startAgent(node, nodeDirectory(context.workdir, node.name), (pid) => {
    made.find((entry) => entry.name === node.name)!.pid = pid;
    writeMade(context.workdir, made);
  })));
}

function isAgent(pid: number, socket: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(socket);
  } catch {
    return false;
  }
}

/** Removes one node: its containers through its agent, the agent (if that PID is still it), its namespace. */
async function removeNode(workdir: string, node: MadeNode): Promise<void> {
  if (node.pid !== null && isAgent(node.pid, node.socket)) {
    const listed = await nodeCli(workdir, node.name, ['ps', '-a', '--json']);
    const ids = listed.code === 0 ? (JSON.parse(listed.stdout) as { id: string }[]).map((container) => container.id) : [];
    if (ids.length > 0) await nodeCli(workdir, node.name, ['rm', '-f', ...ids]);
    process.kill(node.pid, 'SIGTERM');
    for (const deadline = Date.now() + STOP_TIMEOUT_MS; isAgent(node.pid, node.socket); ) {
      if (Date.now() > deadline) process.kill(node.pid, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  if (existsSync(`/run/netns/${node.netns}`)) {
    forgetNotesOf(`/run/netns/${node.netns}`);
    try {
      execFileSync('ip', ['netns', 'delete', node.netns], { stdio: 'ignore' });
    } catch {
      // gone meanwhile
    }
  }
}

/** Removes every node the lab made (as {{workdir}}/nodes.json records them), the nodes side by side. */
export async function removeLabNodes(workdir: string): Promise<void> {
  const made = readMade(workdir);
  if (made.length === 0) return;
  await Promise.all(made.map((node) => removeNode(workdir, node)));
  writeMade(workdir, []);
}

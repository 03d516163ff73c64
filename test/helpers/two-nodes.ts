/*
 * Two "nodes" on one machine: two network namespaces joined by a veth (the network between the
 * nodes), each with its own agent service — its own state root, socket, default bridge and
 * container subnet — running inside its namespace.
 *
 * `ip netns exec` gives the agent its namespace and a /sys that shows that namespace's links
 * (the agent reads /sys/class/net), but that fresh /sys lacks the cgroup mounts under it. So the
 * agent starts in a mount namespace of its own (a slave of the host's: nothing it mounts leaks
 * back) where the cgroup tree is first bound aside, then bound again under the new /sys.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { forgetNotesOf } from '../../agent/runtime/network/ports/nft';
import { AGENT_BUNDLE, startService, stopService, type RunningService } from './service';
import { runCliProcess, type CliResult } from './cli';

export interface NodeSpec {
  /** Network namespace name (also the prefix of what the node makes). */
  netns: string;
  /** Its address on the link between the nodes (a /24). */
  address: string;
  bridge: string;
  subnet: string;
}

export interface RunningNode extends NodeSpec {
  root: string;
  socket: string;
  /** The directory the cgroup tree was bound aside on (in the agent's mount namespace only). */
  cgroups: string;
  service: RunningService;
  /** The CLI against this node's agent. */
  cli(args: string[]): Promise<CliResult>;
  /** A command on this node's host (its namespace): `ip`, `bridge`, `nft`. */
  host(command: string, args: string[]): string;
}

export function ipIn<T>(netns: string, args: string[]): T {
  return JSON.parse(execFileSync('ip', ['-n', netns, '-j', ...args], { encoding: 'utf8' }) || '[]') as T;
}

/** Makes both namespaces and the link between them: `a.netns`'s end is named `link`. */
export function joinNamespaces(a: NodeSpec, b: NodeSpec, link: string): void {
  for (const node of [a, b]) execFileSync('ip', ['netns', 'add', node.netns]);
  execFileSync('ip', ['link', 'add', `${link}a`, 'netns', a.netns, 'type', 'veth', 'peer', 'name', `${link}b`, 'netns', b.netns]);
  for (const [node, end] of [[a, `${link}a`], [b, `${link}b`]] as const) {
    execFileSync('ip', ['-n', node.netns, 'addr', 'add', `${node.address}/24`, 'dev', end]);
    execFileSync('ip', ['-n', node.netns, 'link', 'set', end, 'up']);
    execFileSync('ip', ['-n', node.netns, 'link', 'set', 'lo', 'up']);
  }
}

/** Deletes the nodes' namespaces (and everything in them), and the agents' netfilter notes about them. */
export function removeNamespaces(...nodes: NodeSpec[]): void {
  for (const node of nodes) {
    forgetNotesOf(`/run/netns/${node.netns}`);
    execFileSync('ip', ['netns', 'del', node.netns]);
  }
}

/** Starts the node's agent; with `again`, on the state root of an earlier run of it (a restart). */
export async function startNode(spec: NodeSpec, again?: { root: string; cgroups: string }): Promise<RunningNode> {
  const root = again?.root ?? mkdtempSync(`/tmp/${spec.netns}-root-`);
  const cgroups = again?.cgroups ?? mkdtempSync(`/tmp/${spec.netns}-cg-`);
  const socket = join(root, 'agent.sock');
  const service = await startService(root, socket, [], { CONTAINERS_LAB_BRIDGE: spec.bridge, CONTAINERS_LAB_SUBNET: spec.subnet }, (argv) => [
    'unshare',
    ['--mount', '--propagation', 'slave', 'sh', '-c',
      `mount --rbind /sys/fs/cgroup ${cgroups} && exec ip netns exec ${spec.netns} sh -c 'mount --rbind ${cgroups} /sys/fs/cgroup && exec "$@"' agent ${argv.map((word) => `'${word}'`).join(' ')}`],
  ]);
  return {
    ...spec,
    root,
    socket,
    cgroups,
    service,
    cli: (args) => runCliProcess(AGENT_BUNDLE, ['--root', root, '--socket', socket, ...args]),
    host: (command, args) => execFileSync('ip', ['netns', 'exec', spec.netns, command, ...args], { encoding: 'utf8' }),
  };
}

/** Stops the agent and starts it again on the same state root (its containers keep running). */
export async function restartNode(node: RunningNode, meanwhile: () => void = () => undefined): Promise<RunningNode> {
  await stopService(node.service);
  meanwhile();
  return startNode(node, { root: node.root, cgroups: node.cgroups });
}

/** Stops the agent (its containers removed first) and removes its state root. */
export async function stopNode(node: RunningNode): Promise<void> {
  for (const container of await node.service.client.call('container.list', {})) {
    await node.service.client.call('container.remove', { id: container.id, force: true });
  }
  await stopService(node.service);
  rmSync(node.root, { recursive: true, force: true });
  rmSync(node.cgroups, { recursive: true, force: true });
}

/*
 * Check "node-fdb": a lab node's VXLAN forwarding database (../nodes.ts), read from the kernel
 * inside that node's network namespace (`bridge -j -n NETNS fdb show dev DEVICE`). An overlay
 * tunnel sends a frame to the node its destination MAC address is behind: the entry
 * `MAC dst NODE-ADDRESS` is what makes the VXLAN device wrap the frame in UDP to that node.
 *
 * Passes when `device` on `node` has an entry whose MAC is `toNode`'s own device of the same name
 * (its address read from that node's kernel, not assumed) and whose `dst` is `dst` — the peer's
 * address on the link. Whoever wrote it passes: the agent's `node add`, or `bridge fdb append` by hand.
 */
import { execFile } from 'node:child_process';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { labNode } from '../nodes';
import { CheckFailed, failIf } from './outcome';

function json<T>(program: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(program, ['-j', ...args], { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new CheckFailed(`${program} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve((stdout.trim() ? JSON.parse(stdout) : []) as T);
    });
  });
}

interface FdbEntry { mac: string; dst?: string }

function netnsOf(context: LabContext, node: string): string {
  const netns = labNode(context.workdir, node)?.netns;
  if (!netns) throw new CheckFailed(`no lab node ${node}`);
  return netns;
}

/** The MAC address of the node's device, or null when the node has no such device. */
async function macOf(netns: string, device: string): Promise<string | null> {
  const links = await json<{ address?: string }[]>('ip', ['-n', netns, 'link', 'show', 'dev', device]).catch(() => null);
  return links?.[0]?.address ?? null;
}

export async function checkNodeFdb(params: CheckParamsByKind['node-fdb'], context: LabContext): Promise<void> {
  const [netns, peerNetns] = [netnsOf(context, params.node), netnsOf(context, params.toNode)];
  const [own, peerMac] = await Promise.all([macOf(netns, params.device), macOf(peerNetns, params.device)]);
  failIf(own === null, `node ${params.node} has no device ${params.device}`);
  failIf(peerMac === null, `node ${params.toNode} has no device ${params.device}, so nothing on node ${params.node} can send to it`);
  const entries = await json<FdbEntry[]>('bridge', ['-n', netns, 'fdb', 'show', 'dev', params.device]);
  const toPeer = entries.filter((entry) => entry.dst !== undefined && entry.mac.toLowerCase() === peerMac!.toLowerCase());
  const shown = toPeer.map((entry) => `dst ${entry.dst}`).join(', ');
  failIf(!toPeer.some((entry) => entry.dst === params.dst),
    `node ${params.node}'s ${params.device} sends node ${params.toNode}'s MAC ${peerMac} ${shown ? `to ${shown}` : 'nowhere (no entry)'}`);
}

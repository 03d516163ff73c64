/*
 * Check "cross-node": behaviour across machines. A container on one lab node reaches a container
 * on another (../nodes.ts) — the packet leaves the first container's network namespace, is
 * routed (or tunnelled) by the first node, crosses the link between the nodes, and is delivered by
 * the second. Whether the nodes' routes, neighbour and FDB entries and MTUs are right is shown by
 * the kernel doing it, not by what either agent says it made:
 *
 *   ping        the host's `ping` run in the sending container's network namespace (nsenter -n);
 *               with `size`, "don't fragment" set (-M do): a packet too big for a link on the
 *               way is refused or lost, not split — the MTU black hole;
 *   port        an HTTP GET by the container's own busybox wget (exec through its node's agent);
 *   tunnel      the name of the sender node's VXLAN device: its transmit counter (as `ip -s link`
 *               shows it) must grow while the ping runs — the packet went through the overlay,
 *               not around it.
 *
 * The agents are asked only where the containers are (`ps --json`: their PID and address, once
 * per scoring). Traffic goes only between namespaces the lab made.
 */
import { execFile } from 'node:child_process';
import type { ContainerSummary } from '../../protocol';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { labNode, nodeCli } from '../nodes';
import { CheckFailed, failIf } from './outcome';

/** What each node's agent lists, asked once per scoring (every check of one `lab check` shares it). */
const listings = new WeakMap<LabContext, Map<string, Promise<ContainerSummary[] | string>>>();

function listOn(context: LabContext, node: string): Promise<ContainerSummary[] | string> {
  let byNode = listings.get(context);
  if (!byNode) listings.set(context, (byNode = new Map()));
  let listed = byNode.get(node);
  if (!listed) {
    listed = nodeCli(context.workdir, node, ['ps', '-a', '--json']).then((result) =>
      result.code === 0 ? (JSON.parse(result.stdout) as ContainerSummary[]) : result.stderr.trim().split('\n').pop() ?? `exit code ${result.code}`);
    byNode.set(node, listed);
  }
  return listed;
}

/** A container running on a lab node, as that node's agent lists it (its PID and address). */
export async function runningOn(context: LabContext, node: string, name: string): Promise<ContainerSummary & { pid: number }> {
  const listed = await listOn(context, node);
  if (typeof listed === 'string') throw new CheckFailed(`node ${node}'s agent does not answer (${listed})`);
  const container = listed.find((candidate) => candidate.name === name);
  if (!container) throw new CheckFailed(`node ${node} has no container "${name}"`);
  if (container.status !== 'running' || container.pid === null) throw new CheckFailed(`"${name}" on node ${node} is ${container.status}, not running`);
  return container as ContainerSummary & { pid: number };
}

function run(program: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(program, args, { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) => resolve({ ok: !error, output: `${stdout}${stderr}` }));
  });
}

/** The device's transmitted packets in the node's namespace, or null when it has no such device. */
async function txPackets(netns: string, device: string): Promise<number | null> {
  const shown = await run('ip', ['-n', netns, '-j', '-s', 'link', 'show', 'dev', device]);
  if (!shown.ok) return null;
  const [link] = JSON.parse(shown.output) as { stats64?: { tx?: { packets?: number } } }[];
  return link?.stats64?.tx?.packets ?? null;
}

async function ping(pid: number, address: string, size: number | undefined): Promise<{ reached: boolean; said: string }> {
  const sized = size !== undefined ? ['-M', 'do', '-s', String(size)] : [];
  const pinged = await run('nsenter', ['-t', String(pid), '-n', 'ping', '-c', '1', '-W', '2', ...sized, address]);
  const lines = pinged.output.trim().split('\n').filter((line) => !/^(PING|---|$)/.test(line));
  return { reached: pinged.ok, said: pinged.ok ? '' : (lines.pop()?.slice(0, 120) ?? '') };
}

export async function checkCrossNode(params: CheckParamsByKind['cross-node'], context: LabContext): Promise<void> {
  const [from, to] = await Promise.all([runningOn(context, params.node, params.from), runningOn(context, params.toNode, params.to)]);
  const address = to.ip;
  if (!address) throw new CheckFailed(`"${params.to}" on node ${params.toNode} has no IP address`);
  const where = `"${params.from}" on node ${params.node} → "${params.to}" on node ${params.toNode} (${address})`;

  if (params.port !== undefined) {
    const url = `http://${address}:${params.port}/`;
    const fetched = await nodeCli(context.workdir, params.node, ['exec', params.from, '--', 'wget', '-q', '-O', '-', url], 10_000);
    failIf(fetched.code !== 0, `GET ${url} from ${where} failed: ${fetched.stderr.trim().split('\n').pop() || `exit code ${fetched.code}`}`);
    if (params.contains !== undefined) failIf(!fetched.stdout.includes(params.contains), `GET ${url} from ${where} answered "${fetched.stdout.trim().slice(0, 60)}"`);
    return;
  }

  const netns = params.tunnel !== undefined ? labNode(context.workdir, params.node)?.netns : undefined;
  if (params.tunnel !== undefined && !netns) throw new CheckFailed(`no lab node ${params.node}`);
  const before = netns ? await txPackets(netns, params.tunnel!) : null;
  if (netns) failIf(before === null, `node ${params.node} has no device ${params.tunnel}`);
  const { reached, said } = await ping(from.pid, address, params.size);
  const sized = params.size !== undefined ? `a ${params.size}-byte ping with "don't fragment"` : 'a ping';
  failIf(!reached, `${sized} from ${where} got no answer${said ? `: ${said}` : ''}`);
  if (netns) {
    const after = (await txPackets(netns, params.tunnel!)) ?? 0;
    failIf(after <= before!, `the ping from ${where} was answered, but node ${params.node}'s ${params.tunnel} sent nothing: it went around the tunnel`);
  }
}

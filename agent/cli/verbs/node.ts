/*
 * `containers-lab node`: this node's peers, and how its containers reach theirs.
 *
 *   node add NAME ADDRESS SUBNET     a peer: its address between the nodes, its containers' subnet
 *   node rm NAME                     forget it (its route and entries go)
 *   node ls [--json]                 the mode, this node and its peers with the path to each
 *   node mode none|routed|overlay [--vni N]
 *
 * This node's own subnet is its default bridge's (CONTAINERS_LAB_SUBNET for serve).
 */
import { UsageError, integerOption, switchOption } from '../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import { NODE_MODES, type NodeMode, type NodesView } from '../../protocol';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';

const SUBCOMMANDS = ['add', 'rm', 'ls', 'mode'] as const;

const spec: VerbSpec = {
  name: 'node',
  summary: 'Join containers across nodes: add, rm, ls, mode none|routed|overlay.',
  usage: 'node add NAME ADDRESS SUBNET | rm NAME | ls [--json] | mode none|routed|overlay [--vni N]',
  options: [
    { long: 'json', help: 'print the NodesView object as JSON (ls, and after a change)' },
    { long: 'vni', value: 'N', help: 'the VXLAN network identifier for overlay mode (default 42)' },
  ],
  positionals: { name: 'SUBCOMMAND', min: 1, max: 4 },
  command: 'none',
  details: [
    'Examples:',
    '  containers-lab node add lab2 192.168.56.12 10.244.2.0/24',
    '  containers-lab node mode routed',
    '  containers-lab node mode overlay --vni 42',
  ],
};

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('   ')).join('\n');
}

export function nodesText(view: NodesView): string {
  const self = view.self;
  const lines = [
    `mode: ${view.mode}${view.mode === 'overlay' ? ` (VNI ${view.vni})` : ''}`,
    `this node: bridge ${self.bridge}, subnet ${self.subnet}${self.address ? `, address ${self.address}` : ''}`,
  ];
  if (self.vxlan) lines.push(`vxlan: ${self.vxlan.name} ${self.vxlan.mac} mtu ${self.vxlan.mtu} over ${self.vxlan.underlay}`);
  if (view.nodes.length === 0) return `${lines.join('\n')}\nno peers (containers-lab node add NAME ADDRESS SUBNET)\n`;
  const rows = [['NAME', 'ADDRESS', 'SUBNET', 'PATH'], ...view.nodes.map((node) => [node.name, node.address, node.subnet, node.path?.route ?? '-'])];
  return `${lines.join('\n')}\n${pad(rows)}\n`;
}

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const [subcommand, ...words] = args.positionals as [string, ...string[]];
  if (!(SUBCOMMANDS as readonly string[]).includes(subcommand)) {
    throw new UsageError(`node: unknown subcommand "${subcommand}" (one of: ${SUBCOMMANDS.join(', ')})`);
  }
  const want = (count: number, names: string): void => {
    if (words.length !== count) throw new UsageError(`node ${subcommand}: expected ${names || 'no arguments'} (usage: containers-lab ${spec.usage})`);
  };
  const vni = integerOption(args, 'vni', '--vni');
  if (vni !== undefined && subcommand !== 'mode') throw new UsageError('node: --vni goes with mode overlay');
  const agent = await context.openAgent();
  try {
    let view: NodesView;
    switch (subcommand) {
      case 'add':
        want(3, 'NAME ADDRESS SUBNET');
        view = await agent.client.call('node.add', { name: words[0]!, address: words[1]!, subnet: words[2]! });
        break;
      case 'rm':
        want(1, 'NAME');
        view = await agent.client.call('node.remove', { name: words[0]! });
        break;
      case 'mode': {
        want(1, 'none, routed or overlay');
        const mode = words[0]!;
        if (!(NODE_MODES as readonly string[]).includes(mode)) throw new UsageError(`node mode: "${mode}" is not one of ${NODE_MODES.join(', ')}`);
        if (vni !== undefined && mode !== 'overlay') throw new UsageError('node mode: --vni goes with overlay');
        view = await agent.client.call('node.mode', { mode: mode as NodeMode, ...(vni !== undefined ? { vni } : {}) });
        break;
      }
      default:
        want(0, '');
        view = await agent.client.call('node.list', {});
    }
    await writeAll(context.io.stdout, switchOption(args, 'json') ? `${JSON.stringify(view, null, 2)}\n` : nodesText(view));
    return 0;
  } finally {
    agent.close();
  }
}

export const nodeVerb: Verb = { spec, execute };

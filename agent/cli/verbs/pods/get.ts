/*
 * `containers-lab get pods [NAME] [-o wide|yaml|json]` and `describe pod NAME`, as kubectl prints them.
 */
import { stringOption } from '../../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../../command-line/args';
import { badInput, notFound } from '../../../errors';
import type { CliContext, Verb } from '../../context';
import { writeAll } from '../../context';
import { describePod, podObject, podTable, podYaml } from './pod-format';

const POD_WORDS = ['pod', 'pods', 'po'];

const getSpec: VerbSpec = {
  name: 'get',
  summary: 'List pods (get pods [NAME]); -o wide adds IP, node and QoS class; -o yaml|json the whole Pod.',
  usage: 'get pods [NAME] [-o wide|yaml|json]',
  options: [{ long: 'output', short: 'o', value: 'FORMAT', help: 'wide, yaml or json' }],
  positionals: { name: 'pods [NAME]', min: 1, max: 2 },
  command: 'none',
};

async function get(args: ParsedArgs, context: CliContext): Promise<number> {
  const [kind, name] = args.positionals;
  if (!POD_WORDS.includes(kind!)) throw badInput(`the server doesn't have a resource type "${kind}": this node serves pods`);
  const output = stringOption(args, 'output');
  if (output !== undefined && !['wide', 'yaml', 'json'].includes(output)) throw badInput(`unable to match a printer suitable for the output format "${output}", allowed formats are: json,wide,yaml`);
  const agent = await context.openAgent();
  try {
    if (output === 'yaml' || output === 'json') {
      const names = name !== undefined ? [name] : (await agent.client.call('pod.list', {})).map((pod) => pod.name);
      const pods = await Promise.all(names.map((pod) => agent.client.call('pod.get', { name: pod })));
      const text = output === 'yaml' ? podYaml(pods)
        : `${JSON.stringify(pods.length === 1 && name !== undefined ? podObject(pods[0]!) : { apiVersion: 'v1', kind: 'List', items: pods.map(podObject) }, null, 2)}\n`;
      await writeAll(context.io.stdout, text);
      return 0;
    }
    let pods = await agent.client.call('pod.list', {});
    if (name !== undefined) {
      pods = pods.filter((pod) => pod.name === name);
      if (pods.length === 0) throw notFound(`pods "${name}" not found`);
    }
    await writeAll(context.io.stdout, podTable(pods, output === 'wide'));
    return 0;
  } finally {
    agent.close();
  }
}

const describeSpec: VerbSpec = {
  name: 'describe',
  summary: "Show a pod's containers, states, restarts, conditions, QoS class and events (describe pod NAME).",
  usage: 'describe pod NAME',
  options: [],
  positionals: { name: 'pod NAME', min: 2, max: 2 },
  command: 'none',
};

async function describe(args: ParsedArgs, context: CliContext): Promise<number> {
  const [kind, name] = args.positionals;
  if (!POD_WORDS.includes(kind!)) throw badInput(`the server doesn't have a resource type "${kind}": this node serves pods`);
  const agent = await context.openAgent();
  try {
    await writeAll(context.io.stdout, describePod(await agent.client.call('pod.get', { name: name! })));
    return 0;
  } finally {
    agent.close();
  }
}

export const getVerb: Verb = { spec: getSpec, execute: get };
export const describeVerb: Verb = { spec: describeSpec, execute: describe };

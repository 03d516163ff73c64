/*
 * `containers-lab inspect`: the container record — config.json, namespace inodes, cgroup limits and
 * usage, overlay layers, mounts, network — read from the kernel when asked. `--json` prints the
 * ContainerRecord exactly as the extension receives it.
 */
import { switchOption } from '../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';
import { recordSummary } from '../format';

const spec: VerbSpec = {
  name: 'inspect',
  summary: 'Show everything the agent knows about one container.',
  usage: 'inspect [--json] NAME|ID',
  options: [{ long: 'json', help: 'print the full ContainerRecord as JSON' }],
  positionals: { name: 'NAME|ID', min: 1, max: 1 },
  command: 'none',
};

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const agent = await context.openAgent();
  try {
    const record = await agent.client.call('container.inspect', { id: args.positionals[0]! });
    const text = switchOption(args, 'json') ? `${JSON.stringify(record, null, 2)}\n` : recordSummary(record);
    await writeAll(context.io.stdout, text);
    return 0;
  } finally {
    agent.close();
  }
}

export const inspectVerb: Verb = { spec, execute };

/*
 * `containers-lab ps`: the containers the agent knows, as a table or as JSON (ContainerSummary[]).
 * Like `docker ps`, stopped containers are listed only with -a.
 */
import { switchOption } from '../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';
import { containerTable } from '../format';

const spec: VerbSpec = {
  name: 'ps',
  summary: 'List containers (running, paused and created; -a adds stopped ones).',
  usage: 'ps [-a] [--json]',
  options: [
    { long: 'all', short: 'a', help: 'include stopped containers' },
    { long: 'json', help: 'print ContainerSummary objects as JSON' },
  ],
  positionals: { name: 'nothing', min: 0, max: 0 },
  command: 'none',
};

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const agent = await context.openAgent();
  try {
    const all = switchOption(args, 'all');
    const containers = (await agent.client.call('container.list', {}))
      .filter((container) => all || container.status !== 'stopped')
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const text = switchOption(args, 'json') ? `${JSON.stringify(containers, null, 2)}\n` : containerTable(containers);
    await writeAll(context.io.stdout, text);
    return 0;
  } finally {
    agent.close();
  }
}

export const psVerb: Verb = { spec, execute };

/*
 * `containers-lab stop`: SIGTERM to the container's PID 1, SIGKILL after the grace period.
 * Each name is handled on its own; a failure is reported on one line and the others still stop.
 */
import { integerOption } from '../args';
import type { ParsedArgs, VerbSpec } from '../args';
import type { CliContext, Verb } from '../context';
import { forEachName } from './each';

const spec: VerbSpec = {
  name: 'stop',
  summary: 'Stop running containers (SIGTERM, then SIGKILL after the grace period).',
  usage: 'stop [-t SECONDS] NAME…',
  options: [{ long: 'time', short: 't', value: 'SECONDS', help: 'grace period before SIGKILL (default: the agent’s, 10)' }],
  positionals: { name: 'NAME', min: 1, max: Infinity },
  command: 'none',
};

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const timeoutSeconds = integerOption(args, 'time', 'a whole number of seconds');
  return forEachName(args.positionals, context, async (client, name) => {
    await client.call('container.stop', timeoutSeconds === undefined ? { id: name } : { id: name, timeoutSeconds });
  });
}

export const stopVerb: Verb = { spec, execute };

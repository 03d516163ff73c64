/*
 * `containers-lab stop`: SIGTERM to the container's PID 1, SIGKILL after the grace period.
 * Each name is handled on its own; a failure is reported on one line and the others still stop.
 */
import { integerOption } from '../../command-line/args';
import type { ParsedArgs } from '../../command-line/args';
import { STOP_SPEC } from '../../command-line/verbs';
import type { CliContext, Verb } from '../context';
import { forEachName } from './each';

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const timeoutSeconds = integerOption(args, 'time', 'a whole number of seconds');
  return forEachName(args.positionals, context, async (client, name) => {
    await client.call('container.stop', timeoutSeconds === undefined ? { id: name } : { id: name, timeoutSeconds });
  });
}

export const stopVerb: Verb = { spec: STOP_SPEC, execute };

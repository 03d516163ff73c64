/*
 * `containers-lab rm`: remove containers and every kernel object they owned — mounts, cgroup,
 * veth, state files. -f also stops a running one first.
 */
import { switchOption } from '../../command-line/args';
import type { ParsedArgs } from '../../command-line/args';
import { RM_SPEC } from '../../command-line/verbs';
import type { CliContext, Verb } from '../context';
import { forEachName } from './each';

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const force = switchOption(args, 'force');
  return forEachName(args.positionals, context, async (client, name) => {
    await client.call('container.remove', force ? { id: name, force } : { id: name });
  });
}

export const rmVerb: Verb = { spec: RM_SPEC, execute };

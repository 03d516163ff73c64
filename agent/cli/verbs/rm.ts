/*
 * `containers-lab rm`: remove containers and every kernel object they owned — mounts, cgroup,
 * veth, state files. -f also stops a running one first.
 */
import { switchOption } from '../args';
import type { ParsedArgs, VerbSpec } from '../args';
import type { CliContext, Verb } from '../context';
import { forEachName } from './each';

const spec: VerbSpec = {
  name: 'rm',
  summary: 'Remove containers and everything they owned (mounts, cgroup, veth, files).',
  usage: 'rm [-f] NAME…',
  options: [{ long: 'force', short: 'f', help: 'stop a running container first (SIGKILL)' }],
  positionals: { name: 'NAME', min: 1, max: Infinity },
  command: 'none',
};

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const force = switchOption(args, 'force');
  return forEachName(args.positionals, context, async (client, name) => {
    await client.call('container.remove', force ? { id: name, force } : { id: name });
  });
}

export const rmVerb: Verb = { spec, execute };

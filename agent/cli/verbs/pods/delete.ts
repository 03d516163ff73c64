/*
 * `containers-lab delete pod NAME` / `delete -f pod.yaml`: preStop hooks, SIGTERM, the grace
 * period, SIGKILL; then the pod's containers, sandbox, cgroups and volumes go.
 */
import { integerOption, stringOption } from '../../../command-line/args';
import type { ParsedArgs } from '../../../command-line/args';
import { DELETE_SPEC } from '../../../command-line/verbs';
import { badInput } from '../../../errors';
import type { CliContext, Verb } from '../../context';
import { writeAll } from '../../context';
import { readManifestFile } from './apply';

const spec = DELETE_SPEC;

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const grace = integerOption(args, 'grace-period', 'seconds');
  const [kind, name] = args.positionals;
  let params: { name?: string; yaml?: string; file?: string };
  if (stringOption(args, 'filename') !== undefined) {
    if (kind !== undefined) throw badInput('give either -f FILE or pod NAME, not both');
    params = await readManifestFile(args, context);
  } else {
    if (kind !== 'pod' && kind !== 'pods' && kind !== 'po') throw badInput(`delete takes "pod NAME" or -f FILE${kind ? `, not "${kind}"` : ''}`);
    if (name === undefined) throw badInput('give the name of the pod: delete pod NAME');
    params = { name };
  }
  const agent = await context.openAgent();
  try {
    const result = await agent.client.call('pod.delete', { ...params, ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}) });
    await writeAll(context.io.stdout, `pod "${result.name}" deleted\n`);
    return 0;
  } finally {
    agent.close();
  }
}

export const deleteVerb: Verb = { spec, execute };

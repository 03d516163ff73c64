/*
 * `containers-lab logs`: what the container's process wrote to stdout and stderr (kept in one file
 * per container). With -f keep following until the container stops or Ctrl-C.
 */
import { stringOption, switchOption } from '../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';
import { followLogs } from '../follow';

const spec: VerbSpec = {
  name: 'logs',
  summary: "Print a container's output; -f follows it until the container stops.",
  usage: 'logs [-f] [--json] NAME|ID | logs POD [-c CONTAINER] [-p]',
  options: [
    { long: 'container', short: 'c', value: 'NAME', help: "a pod's container (default: its first)" },
    { long: 'previous', short: 'p', help: "the output of a pod container's previous instance (before its last restart)" },
    { long: 'follow', short: 'f', help: 'keep printing new output until the container stops' },
    { long: 'json', help: 'print {"id","data"} objects, one per line' },
  ],
  positionals: { name: 'NAME|ID', min: 1, max: 1 },
  command: 'none',
};

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const agent = await context.openAgent();
  try {
    const container = stringOption(args, 'container');
    // A pod's container by its name in the pod (agent/pods/); any other word names a container.
    const { id } = await agent.client.call('pod.resolve', {
      name: args.positionals[0]!, ...(container !== undefined ? { container } : {}), ...(switchOption(args, 'previous') ? { previous: true } : {}),
    });
    const json = switchOption(args, 'json');
    const asJson = (chunk: Buffer): string => `${JSON.stringify({ id, data: chunk.toString('utf8') })}\n`;
    if (!switchOption(args, 'follow')) {
      const data = Buffer.from((await agent.client.call('container.logs', { id })).data, 'base64');
      await writeAll(context.io.stdout, json ? asJson(data) : data);
      return 0;
    }
    const interrupted = new AbortController();
    const onInterrupt = (): void => interrupted.abort();
    process.once('SIGINT', onInterrupt);
    try {
      await followLogs(agent.client, id, context.io.stdout, {
        untilStopped: true,
        signal: interrupted.signal,
        ...(json ? { format: asJson } : {}),
      });
    } finally {
      process.off('SIGINT', onInterrupt);
    }
    return 0;
  } finally {
    agent.close();
  }
}

export const logsVerb: Verb = { spec, execute };

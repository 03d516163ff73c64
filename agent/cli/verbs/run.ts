/*
 * `containers-lab run`: build a busybox container from namespaces, an overlay rootfs, cgroups and
 * a veth, and start its process. With -d print its id and return; otherwise stay attached,
 * printing its output until it exits, and exit with its exit code (as `docker run` does).
 */
import { switchOption, UsageError } from '../../command-line/args';
import type { ParsedArgs } from '../../command-line/args';
import { RUN_SPEC, runOptionsFrom } from '../../command-line/run-options';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';
import { followLogs } from '../follow';

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const options = runOptionsFrom(args);
  const detach = switchOption(args, 'detach');
  // Attached, the output comes from the log and keystrokes would go nowhere: say so before starting.
  if (options.tty && !detach) throw new UsageError('run: -t needs -d: the terminal stays with the agent; type into the container with containers-lab exec -it NAME sh');
  const agent = await context.openAgent();
  try {
    const record = await agent.client.call('container.run', options);
    if (record.init && record.init.exitCode !== 0) {
      await writeAll(context.io.stderr, `containers-lab: the init step of ${record.name} exited with ${record.init.exitCode}; the container did not start (see: containers-lab logs ${record.name})\n`);
      return record.init.exitCode ?? 1;
    }
    if (detach) {
      await writeAll(context.io.stdout, `${record.id}\n`);
      return 0;
    }
    // Attached: Ctrl-C asks the container to stop (SIGTERM, then SIGKILL), and we wait for it.
    let stopping = false;
    const onInterrupt = (): void => {
      if (stopping) return;
      stopping = true;
      void agent.client.call('container.stop', { id: record.id }).catch(() => {});
    };
    process.on('SIGINT', onInterrupt);
    try {
      await followLogs(agent.client, record.id, context.io.stdout, { untilStopped: true });
    } finally {
      process.off('SIGINT', onInterrupt);
    }
    const final = await agent.client.call('container.inspect', { id: record.id });
    return final.exitCode ?? 1;
  } finally {
    agent.close();
  }
}

export const runVerb: Verb = { spec: RUN_SPEC, execute };

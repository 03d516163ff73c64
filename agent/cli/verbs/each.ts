/*
 * Verbs that take several names (stop, rm) act on each one independently, like docker: the name is
 * printed when it succeeded (or what the action says instead, as rmi's "Untagged: NAME" lines), a
 * one-line error when it did not, and the exit code is 1 if any failed.
 */
import type { AgentClient } from '../../service/client';
import type { CliContext } from '../context';
import { writeAll } from '../context';
import { errorLine } from '../errors';

export async function forEachName(
  names: string[],
  context: CliContext,
  action: (client: AgentClient, name: string) => Promise<string | void>,
): Promise<number> {
  const agent = await context.openAgent();
  let failed = false;
  try {
    for (const name of names) {
      try {
        const said = await action(agent.client, name);
        await writeAll(context.io.stdout, said ?? `${name}\n`);
      } catch (error) {
        failed = true;
        await writeAll(context.io.stderr, errorLine(error));
      }
    }
  } finally {
    agent.close();
  }
  return failed ? 1 : 0;
}

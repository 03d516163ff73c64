/*
 * `containers-lab serve`: run the agent as a long-lived service. Containers belong to the service,
 * not to the connections: clients come and go, containers keep running, and SIGTERM stops only
 * the service (socket removed, containers left running for the next agent to find).
 */
import { stringOption, switchOption } from '../args';
import type { ParsedArgs, VerbSpec } from '../args';
import type { CliContext, Verb } from '../context';
import { resolveStateRoot } from '../context';
import { loadRuntime } from '../standalone';
import { assertNoLiveAgent, logToStderr, serve } from '../../service/server';

const spec: VerbSpec = {
  name: 'serve',
  summary: 'Run the agent as a service: JSON-RPC 2.0 on a root-only Unix socket and/or stdin/stdout.',
  usage: 'serve [--socket PATH] [--stdio]',
  options: [{ long: 'stdio', help: 'serve one connection on stdin/stdout (logs go to stderr); with --socket, both' }],
  positionals: { name: 'nothing', min: 0, max: 0 },
  command: 'none',
  details: ['The socket is created 0600 in a 0700 directory; a stale socket file is replaced, a live agent is not.'],
};

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const stdio = switchOption(args, 'stdio');
  // --stdio alone serves only stdio; a socket is served when asked for or when stdio is not.
  const socketPath = stdio && stringOption(args, 'socket') === undefined ? null : context.socketPath;
  // Before the runtime touches the state root: another agent may be managing it right now.
  if (socketPath !== null) await assertNoLiveAgent(socketPath);
  const runtime = await loadRuntime(resolveStateRoot(context.requestedRoot), { watchLinks: true });
  let server;
  try {
    server = await serve(runtime, { socketPath, stdio, log: logToStderr });
  } catch (error) {
    runtime.close();
    throw error;
  }
  await server.done;
  return 0;
}

export const serveVerb: Verb = { spec, execute };

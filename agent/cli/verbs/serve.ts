/*
 * `containers-lab serve`: run the agent as a long-lived service. Containers belong to the service,
 * not to the connections: clients come and go, containers keep running, and SIGTERM stops only
 * the service (socket removed, containers left running for the next agent to find).
 */
import { badInput } from '../../errors';
import { integerOption, stringOption, switchOption } from '../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import type { CliContext, Verb } from '../context';
import { resolveStateRoot } from '../context';
import { loadRuntime } from '../standalone';
import { assertNoLiveAgent, logToStderr, serve } from '../../service/server';

/**
 * `--warm-pool N` keeps N containers made ahead for a burst of `run`s; the pool refills whenever
 * the service is idle. Each waiting one is a parked process with its mounts and cgroup (about
 * 0.2 MiB of the service's memory).
 */
// Off unless asked: a learner's `lsns` should show exactly the containers they started.
const DEFAULT_WARM_POOL = 0;

const spec: VerbSpec = {
  name: 'serve',
  summary: 'Run the agent as a service: JSON-RPC 2.0 on a root-only Unix socket and/or stdin/stdout.',
  usage: 'serve [--socket PATH] [--stdio] [--warm-pool N] [--static-pod-path DIR]',
  options: [
    { long: 'stdio', help: 'serve one connection on stdin/stdout (logs go to stderr); with --socket, both' },
    { long: 'static-pod-path', value: 'DIR', help: "run the Pod YAML files in DIR as static pods, as the kubelet's staticPodPath (add, change, remove a file)" },
    { long: 'warm-pool', value: 'N', help: `containers to keep made ahead for \`run --net none\` (default ${DEFAULT_WARM_POOL}; 0: none)` },
  ],
  positionals: { name: 'nothing', min: 0, max: 0 },
  command: 'none',
  details: [
    'The socket is created 0600 in a 0700 directory; a stale socket file is replaced, a live agent is not.',
    'Containers that name no bridge go on $CONTAINERS_LAB_BRIDGE with $CONTAINERS_LAB_SUBNET (default cl0,',
    '10.77.0.0/24); a second agent on the same host needs a bridge and subnet of its own.',
  ],
};

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const stdio = switchOption(args, 'stdio');
  // --stdio alone serves only stdio; a socket is served when asked for or when stdio is not.
  const socketPath = stdio && stringOption(args, 'socket') === undefined ? null : context.socketPath;
  // Before the runtime touches the state root: another agent may be managing it right now.
  if (socketPath !== null) await assertNoLiveAgent(socketPath);
  const warmPool = integerOption(args, 'warm-pool', 'a number of containers') ?? DEFAULT_WARM_POOL;
  if (!Number.isInteger(warmPool) || warmPool < 0 || warmPool > 256) throw badInput(`invalid --warm-pool ${warmPool}: give a whole number from 0 to 256`);
  const runtime = await loadRuntime(resolveStateRoot(context.requestedRoot), { watchLinks: true, warmPool, applyNodes: true });
  let server;
  try {
    const staticPodPath = stringOption(args, 'static-pod-path');
    server = await serve(runtime, { socketPath, stdio, log: logToStderr, ...(staticPodPath !== undefined ? { staticPodPath } : {}) });
  } catch (error) {
    runtime.close();
    throw error;
  }
  await server.done;
  return 0;
}

export const serveVerb: Verb = { spec, execute };

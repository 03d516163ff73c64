/*
 * `containers-lab host containers`: every container on this host, whoever made it — this agent,
 * runc or crun called directly, containerd (through its shim), Docker, or nothing known (an
 * `unshare`) — found from the kernel's namespaces (agent/inspect/host/). A table: who made it,
 * its name, its first process's host PID, its own namespaces and the chain of parents that holds
 * it (e.g. process_api → containerd-shim-runc-v2 → sleep); or the HostContainers object as JSON.
 */
import { listOption, switchOption, UsageError } from '../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import type { HostContainer } from '../../protocol';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';
import { table } from '../format';

const spec: VerbSpec = {
  name: 'host',
  summary: 'List every container on this host, whoever made it (runc, containerd, Docker, unshare, this agent).',
  usage: 'host containers [--json] [--runtime-root DIR]…',
  options: [
    { long: 'json', help: 'print the HostContainers object as JSON' },
    { long: 'runtime-root', value: 'DIR', repeatable: true, help: 'also read this OCI runtime --root (runc --root DIR); /run/runc, /run/crun and /run/containers-lab-runc always are' },
  ],
  positionals: { name: 'containers', min: 1, max: 1 },
  command: 'none',
  details: [
    'A container is what the kernel shows: processes whose namespaces are not the host\'s (PID 1\'s),',
    'grouped by their set of namespaces as lsns counts them; each is then named by what made it.',
    '',
    'Examples:',
    '  containers-lab host containers',
    '  containers-lab host containers --json',
  ],
};

/** "mnt pid net" — the types it does not share with the host. */
export function ownTypes(container: Pick<HostContainer, 'key'>): string {
  return container.key.split(' ').map((word) => word.slice(0, word.indexOf(':'))).join(' ');
}

/** Outermost parent first, then the container's first process: "process_api → containerd-shim-runc-v2 → sleep". */
export function chainText(container: Pick<HostContainer, 'parents' | 'command'>): string {
  return [...container.parents].reverse().map((parent) => parent.command).concat(container.command).join(' → ');
}

export function hostContainerTable(containers: readonly HostContainer[]): string {
  const rows = containers.map((container) => [
    container.runtime ? `${container.maker} (${container.runtime})` : container.maker,
    container.name,
    String(container.pid),
    container.status,
    ownTypes(container),
    chainText(container),
  ]);
  return table(['MADE BY', 'NAME', 'PID', 'STATUS', 'OWN NAMESPACES', 'PARENTS → PROCESS'], rows);
}

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  if (args.positionals[0] !== 'containers') throw new UsageError(`host: unknown subcommand "${args.positionals[0]}" (host containers)`);
  const agent = await context.openAgent();
  try {
    const roots = listOption(args, 'runtime-root');
    const found = await agent.client.call('host.containers', roots.length > 0 ? { roots } : {}, { timeoutMs: 30_000 });
    await writeAll(context.io.stdout, switchOption(args, 'json') ? `${JSON.stringify(found, null, 2)}\n` : hostContainerTable(found.containers));
    return 0;
  } finally {
    agent.close();
  }
}

export const hostVerb: Verb = { spec, execute };

/*
 * `containers-lab`: the command line of the agent.
 *
 *   containers-lab [--root DIR] [--socket PATH] VERB [OPTIONS] [ARGS] [-- CMD…]
 *
 * Every verb talks to the service when one answers on the socket, and otherwise runs the runtime
 * in this process (standalone), so the CLI works the same on a fresh machine and under a running
 * agent. Creating namespaces, mounts and cgroups needs root; only help and --version do not.
 */
import type { Readable, Writable } from 'node:stream';
import packageJson from '../../package.json';
import { defaultSocketPath } from '../service/socket-path';
import { GLOBAL_OPTIONS, UsageError, formatVerbHelp, parseVerbArgs, stringOption } from '../command-line/args';
import type { ParsedArgs } from '../command-line/args';
import type { CliContext, CliIo, Verb } from './context';
import { openAgentFor, writeAll } from './context';
import { errorLine, exitCodeFor } from './errors';
import { dialStdioVerb } from './verbs/dial-stdio';
import { execVerb } from './verbs/exec';
import { hostVerb } from './verbs/host';
import { imageVerb } from './verbs/image';
import { imagesVerb } from './verbs/images';
import { importVerb } from './verbs/import';
import { pullVerb } from './verbs/pull';
import { rmiVerb } from './verbs/rmi';
import { inspectVerb } from './verbs/inspect';
import { labVerb } from './verbs/lab';
import { logsVerb } from './verbs/logs';
import { nodeVerb } from './verbs/node';
import { psVerb } from './verbs/ps';
import { rmVerb } from './verbs/rm';
import { runVerb } from './verbs/run';
import { serveVerb } from './verbs/serve';
import { stopVerb } from './verbs/stop';
import { applyVerb } from './verbs/pods/apply';
import { deleteVerb } from './verbs/pods/delete';
import { describeVerb, getVerb } from './verbs/pods/get';

export const VERSION: string = packageJson.version;

export const VERBS: readonly Verb[] = [
  runVerb, psVerb, execVerb, inspectVerb, logsVerb, stopVerb, rmVerb, pullVerb, imagesVerb, imageVerb, rmiVerb, importVerb,
  applyVerb, getVerb, describeVerb, deleteVerb, hostVerb, labVerb, nodeVerb, serveVerb, dialStdioVerb,
];

export const NOT_ROOT_MESSAGE = 'must run as root (the agent creates namespaces, mounts and cgroups)';

export function generalHelp(): string {
  const width = Math.max(...VERBS.map((verb) => verb.spec.name.length));
  return [
    'Usage: containers-lab [--root DIR] [--socket PATH] COMMAND [OPTIONS]',
    '',
    'Containers built live from Linux primitives: namespaces, an overlay rootfs, cgroups and a veth.',
    '',
    'Commands:',
    ...VERBS.map((verb) => `  ${verb.spec.name.padEnd(width)}  ${verb.spec.summary}`),
    `  ${'help'.padEnd(width)}  Show help for a command: containers-lab help run`,
    '',
    'Global options:',
    ...globalOptionLines(),
    '',
    'Environment:',
    '  CONTAINERS_LAB_BRIDGE  bridge for --net bridge containers that name none (default cl0)',
    '  CONTAINERS_LAB_SUBNET  its subnet (default 10.77.0.0/24)',
    '  Read where containers are made: by serve, or by this command when no agent answers.',
    '',
    'Each command uses the running agent (containers-lab serve) when one answers on the socket,',
    'and otherwise does the work itself.',
  ].join('\n') + '\n';
}

function globalOptionLines(): string[] {
  const rows = [
    ...GLOBAL_OPTIONS.map((option) => [`--${option.long}${option.value ? ` ${option.value}` : ''}`, option.help] as const),
    ['--version', 'print the version'] as const,
  ];
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, help]) => `  ${left.padEnd(width)}  ${help}`);
}

function findVerb(name: string): Verb {
  const verb = VERBS.find((candidate) => candidate.spec.name === name);
  if (!verb) throw new UsageError(`unknown command "${name}" (see: containers-lab help)`);
  return verb;
}

/** Splits the global options written before the verb from the verb and its own words. */
function splitGlobals(argv: readonly string[]): { globals: string[]; rest: string[] } {
  const globals: string[] = [];
  let index = 0;
  while (index < argv.length && argv[index]!.startsWith('-') && argv[index] !== '--') {
    const word = argv[index]!;
    globals.push(word);
    index++;
    const takesValue = word === '--root' || word === '--socket';
    if (takesValue && index < argv.length) globals.push(argv[index++]!);
  }
  return { globals, rest: argv.slice(index) };
}

const processIo = (): CliIo => ({ stdin: process.stdin as Readable, stdout: process.stdout as Writable, stderr: process.stderr as Writable });

/** Runs the CLI; resolves with the process exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    await writeAll(io.stderr, errorLine(error));
    return exitCodeFor(error);
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const { globals, rest } = splitGlobals(argv);
  if (globals.includes('--version')) {
    await writeAll(io.stdout, `containers-lab ${VERSION}\n`);
    return 0;
  }
  const leading = parseVerbArgs(
    { name: 'containers-lab', summary: '', usage: 'COMMAND', options: [], positionals: { name: '', min: 0, max: 0 }, command: 'none' },
    globals,
  );
  const [verbName, ...verbArgv] = rest;
  if (leading.options.has('help') || verbName === 'help') {
    const topic = verbName === 'help' ? verbArgv[0] : undefined;
    await writeAll(io.stdout, topic ? formatVerbHelp(findVerb(topic).spec) : generalHelp());
    return 0;
  }
  if (verbName === undefined) {
    await writeAll(io.stderr, generalHelp());
    return 2;
  }
  const verb = findVerb(verbName);
  const args = parseVerbArgs(verb.spec, verbArgv);
  if (args.options.has('help')) {
    await writeAll(io.stdout, formatVerbHelp(verb.spec));
    return 0;
  }
  const merged = mergeGlobals(leading, args);
  if (process.getuid?.() !== 0) throw new Error(NOT_ROOT_MESSAGE);

  const partial = {
    io,
    requestedRoot: stringOption(merged, 'root') ?? (process.env.CONTAINERS_LAB_ROOT || undefined),
    socketPath: stringOption(merged, 'socket') ?? defaultSocketPath(),
  };
  const context: CliContext = { ...partial, openAgent: () => openAgentFor(partial) };
  return verb.execute(merged, context);
}

/** Global options may come before the verb or among its options, but only once. */
function mergeGlobals(leading: ParsedArgs, args: ParsedArgs): ParsedArgs {
  for (const [name, value] of leading.options) {
    if (args.options.has(name)) throw new UsageError(`option --${name} given twice`);
    args.options.set(name, value);
  }
  return args;
}

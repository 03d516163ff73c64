/*
 * containers-lab-runc: an OCI runtime with runc's command line, so that containerd (through its
 * runc shim, `ctr run --runc-binary …` or the BinaryName of its config) runs containers with
 * this project's runtime. Global flags come before the verb:
 *
 *   containers-lab-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug]
 *                       [--systemd-cgroup] VERB [flags] ID …
 *
 * One file per verb in this folder; all of them act through the runtime (../runtime/), which
 * has the one container-creation path. Errors are one line on stderr (and an "error" entry in
 * --log), exit code 1, as runc's.
 */
import { existsSync } from 'node:fs';
import { LabError } from '../errors';
import { KernelError } from '../kernel/errors';
import { RuncError } from './errors';
import { flag, parseFlags, UsageError, type FlagSpec } from './flags';
import { RuncLog, type LogFormat } from './log';
import { DEFAULT_ROOT, RuncRoot } from './root';
import type { Invocation, Verb } from './verb';

export const RUNC_VERSION = '1.1.5-containers-lab';

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', kind: 'string' },
  { name: 'log', kind: 'string' },
  { name: 'log-format', kind: 'string' },
  { name: 'debug', kind: 'bool' },
  { name: 'systemd-cgroup', kind: 'bool' },
  { name: 'criu', kind: 'string' },
  { name: 'rootless', kind: 'string' },
  { name: 'version', alias: 'v', kind: 'bool' },
  { name: 'help', alias: 'h', kind: 'bool' },
];

/*
 * Each verb's module is loaded when that verb runs, not before: every command is a new process,
 * and evaluating the modules of all fifteen verbs (with what they import: hooks, networking,
 * exec sessions, child processes…) at every start-up is time `state` or `start` would pay for
 * nothing. The bundle (build.mjs) keeps them all in one file; esbuild turns each import() below
 * into a call that evaluates that module (and its imports) on first use.
 */
export const VERBS: Record<string, Verb> = {
  create: async (invocation) => (await import('./create.js')).create(invocation),
  start: async (invocation) => (await import('./start.js')).start(invocation),
  state: async (invocation) => (await import('./state.js')).state(invocation),
  kill: async (invocation) => (await import('./kill.js')).kill(invocation),
  delete: async (invocation) => (await import('./delete.js')).deleteVerb(invocation),
  run: async (invocation) => (await import('./run.js')).run(invocation),
  spec: async (invocation) => (await import('./spec.js')).spec(invocation),
  exec: async (invocation) => (await import('./exec.js')).exec(invocation),
  pause: async (invocation) => (await import('./pause.js')).pause(invocation),
  resume: async (invocation) => (await import('./pause.js')).resume(invocation),
  ps: async (invocation) => (await import('./ps.js')).ps(invocation),
  list: async (invocation) => (await import('./list.js')).list(invocation),
  update: async (invocation) => (await import('./update.js')).update(invocation),
  events: async (invocation) => (await import('./events.js')).events(invocation),
  features: async (invocation) => (await import('./features.js')).features(invocation),
};

export async function main(argv: string[]): Promise<number> {
  let log = new RuncLog(null, 'text', false);
  try {
    const global = parseFlags(argv, GLOBAL_FLAGS);
    const format = flag.string(global, 'log-format') ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`invalid log-format: ${format}`);
    log = new RuncLog(flag.string(global, 'log') ?? null, format as LogFormat, flag.bool(global, 'debug'));
    if (flag.bool(global, 'version')) {
      process.stdout.write(`containers-lab-runc version ${RUNC_VERSION}\nspec: 1.0.2\n`);
      return 0;
    }
    const [verbName, ...args] = global.positionals;
    if (!verbName || flag.bool(global, 'help')) {
      process.stdout.write(usage());
      return verbName || flag.bool(global, 'help') ? 0 : 1;
    }
    const verb = VERBS[verbName];
    if (!verb) throw new UsageError(`No help topic for '${verbName}'`);
    const systemdCgroup = flag.bool(global, 'systemd-cgroup');
    if (systemdCgroup && !existsSync('/run/systemd/system')) {
      throw new RuncError('--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); use cgroupfs paths');
    }
    let root: RuncRoot | null = null;
    const rootPath = flag.string(global, 'root') ?? DEFAULT_ROOT;
    // Opened when a verb first asks (spec and features need no state, nor root).
    const invocation: Invocation = {
      args, log, systemdCgroup,
      get root(): RuncRoot {
        if (process.getuid?.() !== 0) throw new RuncError('containers-lab-runc must run as root');
        if (!root) {
          root = new RuncRoot(rootPath);
          // A failing poststart/poststop hook: a warning in the log (and on stderr), as runc's.
          root.context.warn = (message) => log.warn(message);
        }
        return root;
      },
    };
    log.debug(`${verbName} ${args.join(' ')}`);
    return await verb(invocation);
  } catch (error) {
    const message = messageOf(error);
    log.error(message);
    process.stderr.write(`${message}\n`);
    return error instanceof RuncError ? error.exitCode : 1;
  }
}

function messageOf(error: unknown): string {
  if (error instanceof RuncError || error instanceof UsageError || error instanceof LabError || error instanceof KernelError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

function usage(): string {
  return [
    'containers-lab-runc: an OCI runtime with runc\'s command line',
    '',
    'usage: containers-lab-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--systemd-cgroup] COMMAND [flags] ID',
    '',
    `commands: ${Object.keys(VERBS).join(', ')}`,
    '',
  ].join('\n');
}

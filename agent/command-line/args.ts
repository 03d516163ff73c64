/*
 * A small, strict command-line parser.
 *
 * Strict because this CLI creates kernel objects as root: a misspelt `--memroy 64m` must stop with
 * "unknown option --memroy" rather than start a container without a limit. Each verb declares its
 * options; anything else is a usage error (exit code 2). `--` ends the options: everything after it
 * is the command to run inside the container, passed through untouched (`-- sh -c 'ls -l'`).
 *
 * Accepted spellings: `--name web`, `--name=web`, `-d`, clustered booleans `-it`, and a short option
 * with its value attached or separate (`-t5`, `-t 5`).
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Long name without dashes: "name" for --name. */
  long: string;
  /** One-letter short name without the dash. */
  short?: string;
  /** Placeholder for the value ("N", "SIZE"); absent for a boolean switch. */
  value?: string;
  help: string;
  /** May be given more than once (-v a:/a -v b:/b); read with listOption. */
  repeatable?: boolean;
}

export interface VerbSpec {
  name: string;
  summary: string;
  /** Shown after "containers-lab ": e.g. "run [OPTIONS] busybox [-- CMD ARGS…]". */
  usage: string;
  options: OptionSpec[];
  /** Words that are not options, e.g. { name: "NAME", min: 1, max: Infinity }. */
  positionals: { name: string; min: number; max: number };
  /** Whether a command after `--` is forbidden, allowed or required. */
  command: 'none' | 'optional' | 'required';
  /** Extra lines for `--help` (examples, notes). */
  details?: string[];
}

/** Options every verb accepts. */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  { long: 'root', value: 'DIR', help: 'state directory (default: $CONTAINERS_LAB_ROOT or /var/lib/containers-lab)' },
  { long: 'socket', value: 'PATH', help: "the agent's socket (default: $CONTAINERS_LAB_SOCKET or /run/containers-lab/agent.sock)" },
  { long: 'help', short: 'h', help: 'show this help' },
];

export interface ParsedArgs {
  /** Option values by long name: a string for valued options, true for switches. */
  options: Map<string, string | true>;
  positionals: string[];
  /** The words after `--`, or null when there was no `--`. */
  command: string[] | null;
}

export function parseVerbArgs(spec: VerbSpec, argv: readonly string[]): ParsedArgs {
  const known = [...spec.options, ...GLOBAL_OPTIONS];
  const byLong = new Map(known.map((option) => [option.long, option]));
  const byShort = new Map(known.filter((option) => option.short).map((option) => [option.short!, option]));
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  let command: string[] | null = null;

  // The top-level parser (options before the verb) is named "containers-lab" itself.
  const topLevel = spec.name === 'containers-lab';
  const prefix = topLevel ? '' : `${spec.name}: `;
  const helpHint = topLevel ? 'containers-lab help' : `containers-lab ${spec.name} --help`;
  const set = (option: OptionSpec, value: string | true): void => {
    const previous = options.get(option.long);
    if (previous !== undefined && option.repeatable && typeof previous === 'string' && typeof value === 'string') {
      options.set(option.long, `${previous}${LIST_SEPARATOR}${value}`);
      return;
    }
    if (previous !== undefined) throw new UsageError(`${prefix}option --${option.long} given twice`);
    options.set(option.long, value);
  };

  for (let index = 0; index < argv.length; index++) {
    const word = argv[index]!;
    if (word === '--') {
      command = argv.slice(index + 1);
      break;
    }
    if (word.startsWith('--')) {
      const equals = word.indexOf('=');
      const name = equals === -1 ? word.slice(2) : word.slice(2, equals);
      const option = byLong.get(name);
      if (!option) throw new UsageError(`${prefix}unknown option --${name} (see: ${helpHint})`);
      if (option.value === undefined) {
        if (equals !== -1) throw new UsageError(`${prefix}option --${name} takes no value`);
        set(option, true);
      } else if (equals !== -1) {
        set(option, word.slice(equals + 1));
      } else {
        const value = argv[index + 1];
        if (value === undefined || value === '--') {
          throw new UsageError(`${prefix}option --${name} needs a value (${option.value})`);
        }
        set(option, value);
        index++;
      }
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      // A cluster of short options: -it, -d, -t5, -t 5.
      for (let at = 1; at < word.length; at++) {
        const letter = word[at]!;
        const option = byShort.get(letter);
        if (!option) throw new UsageError(`${prefix}unknown option -${letter} (see: ${helpHint})`);
        if (option.value === undefined) {
          set(option, true);
          continue;
        }
        const attached = word.slice(at + 1);
        if (attached !== '') {
          set(option, attached);
        } else {
          const value = argv[index + 1];
          if (value === undefined || value === '--') {
            throw new UsageError(`${prefix}option -${letter} needs a value (${option.value})`);
          }
          set(option, value);
          index++;
        }
        break;
      }
      continue;
    }
    positionals.push(word);
  }

  if (options.has('help')) return { options, positionals, command };

  const { name, min, max } = spec.positionals;
  if (positionals.length < min) {
    throw new UsageError(`${spec.name}: missing ${name} (usage: containers-lab ${spec.usage})`);
  }
  if (positionals.length > max) {
    const extra = positionals[max]!;
    const hint = spec.command === 'none' ? '' : `; put the command after --: containers-lab ${spec.usage}`;
    throw new UsageError(`${spec.name}: unexpected argument "${extra}"${hint}`);
  }
  if (spec.command === 'none' && command !== null) {
    throw new UsageError(`${spec.name}: takes no command after --`);
  }
  if (spec.command === 'required' && (command === null || command.length === 0)) {
    throw new UsageError(`${spec.name}: missing the command to run after -- (usage: containers-lab ${spec.usage})`);
  }
  return { options, positionals, command };
}

// --- typed accessors with one-line errors ----------------------------------------------------------

const LIST_SEPARATOR = '\0';

/** Every value of a repeatable option, in order; comma-separated values are split too when `splitCommas`. */
export function listOption(args: ParsedArgs, long: string, splitCommas = false): string[] {
  const value = args.options.get(long);
  if (typeof value !== 'string') return [];
  const values = value.split(LIST_SEPARATOR);
  return splitCommas ? values.flatMap((entry) => entry.split(',')).map((entry) => entry.trim()).filter((entry) => entry !== '') : values;
}

export function stringOption(args: ParsedArgs, long: string): string | undefined {
  const value = args.options.get(long);
  return typeof value === 'string' ? value : undefined;
}

export function switchOption(args: ParsedArgs, long: string): boolean {
  return args.options.get(long) === true;
}

export function numberOption(args: ParsedArgs, long: string, what: string): number | undefined {
  const text = stringOption(args, long);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new UsageError(`--${long} expects ${what}, got "${text}"`);
  }
  return value;
}

export function integerOption(args: ParsedArgs, long: string, what: string): number | undefined {
  const value = numberOption(args, long, what);
  if (value !== undefined && !Number.isSafeInteger(value)) {
    throw new UsageError(`--${long} expects ${what}, got "${stringOption(args, long)}"`);
  }
  return value;
}

// --- help --------------------------------------------------------------------------------------------

export function formatVerbHelp(spec: VerbSpec): string {
  const lines = [`Usage: containers-lab ${spec.usage}`, '', spec.summary, ''];
  const rows = [...spec.options, ...GLOBAL_OPTIONS].map((option) => {
    const names = [option.short ? `-${option.short},` : '   ', `--${option.long}`].join(' ');
    return [option.value ? `${names} ${option.value}` : names, option.help] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  lines.push('Options:');
  for (const [left, help] of rows) lines.push(`  ${left.padEnd(width)}  ${help}`);
  if (spec.details?.length) lines.push('', ...spec.details);
  return lines.join('\n') + '\n';
}

/*
 * runc's command-line grammar (urfave/cli's): global flags before the verb, the verb's own flags
 * after it, then positional arguments. A flag is `--name value`, `--name=value` or a one-letter
 * alias; booleans take no value (`--force`, `-f`, `--force=true`). A "--" ends the flags, and so
 * does the first positional argument: `exec ID sh -c 'x --y'` passes `--y` to sh.
 */
export interface FlagSpec {
  /** Long name (without "--"). */
  name: string;
  alias?: string;
  /** 'bool' takes no value; 'list' may repeat (--env A --env B). */
  kind: 'bool' | 'string' | 'list';
}

export interface Parsed {
  values: Map<string, string | boolean | string[]>;
  positionals: string[];
}

/** Thrown for what runc's cli answers with "flag provided but not defined" and the like: exit code 1. */
export class UsageError extends Error {}

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], stopAtPositional = true): Parsed {
  const values = new Map<string, string | boolean | string[]>();
  const positionals: string[] = [];
  const find = (word: string): FlagSpec | undefined => specs.find((spec) => spec.name === word || spec.alias === word);
  let index = 0;
  for (; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') {
      index++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      if (stopAtPositional) {
        index++;
        break;
      }
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const equals = body.indexOf('=');
    const word = equals >= 0 ? body.slice(0, equals) : body;
    const spec = find(word);
    if (!spec) throw new UsageError(`flag provided but not defined: -${word}`);
    if (spec.kind === 'bool') {
      const text = equals >= 0 ? body.slice(equals + 1) : 'true';
      if (text !== 'true' && text !== 'false') throw new UsageError(`invalid boolean value "${text}" for -${word}`);
      values.set(spec.name, text === 'true');
      continue;
    }
    let value: string;
    if (equals >= 0) value = body.slice(equals + 1);
    else {
      if (index + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${word}`);
      value = argv[++index]!;
    }
    if (spec.kind === 'list') {
      const list = (values.get(spec.name) as string[] | undefined) ?? [];
      list.push(value);
      values.set(spec.name, list);
    } else values.set(spec.name, value);
  }
  positionals.push(...argv.slice(index));
  return { values, positionals };
}

export const flag = {
  bool: (parsed: Parsed, name: string): boolean => parsed.values.get(name) === true,
  string: (parsed: Parsed, name: string): string | undefined => {
    const value = parsed.values.get(name);
    return typeof value === 'string' ? value : undefined;
  },
  list: (parsed: Parsed, name: string): string[] => {
    const value = parsed.values.get(name);
    return Array.isArray(value) ? value : [];
  },
};

/** The container id a verb needs (runc: `"ID" argument is required` style messages). */
export function requireId(verb: string, positionals: readonly string[], extraAllowed = 0): string {
  const id = positionals[0];
  if (id === undefined || id === '') throw new UsageError(`${verb}: container id cannot be empty`);
  if (positionals.length > 1 + extraAllowed) throw new UsageError(`${verb}: expected ${extraAllowed === 0 ? 'one argument' : `at most ${1 + extraAllowed} arguments`}, got ${positionals.length}`);
  return id;
}

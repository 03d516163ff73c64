/*
 * Checking request parameters before they reach the runtime.
 *
 * JSON-RPC peers are programs, and a program's mistake ("id": 7, a misspelt "timeoutSecond") should
 * come back as -32602 Invalid params with one line naming the field, not as a TypeError deep in
 * the runtime. Each method lists its fields with a type; unknown fields are rejected too, so a typo
 * never silently falls back to a default. The check goes all the way down — every volume, every
 * seccomp rule and its arguments, the whole OCI config.json (against the specification's own
 * schema) — because the runtime trusts the shape it is given: a volume whose name is a number, or
 * a seccomp argument whose value is an object, would otherwise surface as a JavaScript error.
 *
 * Whether a value of the right shape makes sense (is "64q" a size? is "../x" a name?) is the
 * runtime's judgement and comes back as a BadInput error. What no value of any meaning can be is
 * refused here: a NUL character (every name, path and argument ends up a C string), a string far
 * longer than any real one (a 7 MiB name), a number outside what the kernel field holds.
 *
 * Messages echo nothing the peer sent but field names, and those at most 40 characters each.
 */
import { excerpt } from '../errors';
import { FILES_READ_LIMIT, NAMESPACE_TYPES, NODE_MODES, RpcErrorCode } from '../protocol';
import type { AgentMethod, AgentMethods } from '../protocol';
import { configSchemaProblem } from '../oci/validate';
import { RpcError } from './jsonrpc';
import { LAB_PARAM_RULES } from '../labs/params';
import { POD_PARAM_RULES } from '../pods/service';

export type FieldType =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'string|number'
  /** One of these strings. */
  | { readonly oneOf: readonly string[] }
  /** An array whose every item follows the rule. */
  | { readonly arrayOf: FieldRule }
  /** An object with exactly these fields (or, with orOneOf, one of these words instead: seccomp "unconfined"). */
  | { readonly fields: ParamRules; readonly orOneOf?: readonly string[] }
  /** An OCI runtime-spec config.json, checked against the specification's schema. */
  | 'oci-config';

export interface FieldRule {
  readonly type: FieldType;
  readonly required?: boolean;
  /** For strings: the most characters (default DEFAULT_MAX_LENGTH). */
  readonly maxLength?: number;
  /** For numbers: the range, inclusive. */
  readonly min?: number;
  readonly max?: number;
}

export type ParamRules = Readonly<Record<string, FieldRule>>;

/** PATH_MAX: no name, path or word the agent handles is longer. */
const DEFAULT_MAX_LENGTH = 4096;
/** MAX_ARG_STRLEN: the longest single argument or environment entry execve(2) takes. */
const ARG_LENGTH = 128 * 1024;
/** Names of containers, pods, sessions, labs: 63 characters where the runtime checks them; 256 leaves room. */
const NAME_LENGTH = 256;
/** An image reference: a 255-character name, a 128-character tag and a digest (agent/image/reference.ts). */
const REFERENCE_LENGTH = 512;
/** Quantities, user ids, capability and syscall names, subnets: short words. */
const WORD_LENGTH = 64;
/** How deep a config.json may nest (the OCI schema's deepest field is 6 levels down). */
const CONFIG_DEPTH = 32;
const UINT32_MAX = 2 ** 32 - 1;

const id: FieldRule = { type: 'string', required: true, maxLength: NAME_LENGTH };
const session: FieldRule = { type: 'string', required: true, maxLength: NAME_LENGTH };
const argList: FieldRule = { type: { arrayOf: { type: 'string', maxLength: ARG_LENGTH } } };
const wordList: FieldRule = { type: { arrayOf: { type: 'string', maxLength: WORD_LENGTH } } };
/** struct winsize holds unsigned shorts; a terminal that does not know its size says 0 (script(1), some CI ptys). */
const terminalSize = (required: boolean): FieldRule => ({ type: 'integer', required, min: 0, max: 65_535 });

const SECCOMP_ACTIONS = ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY'];
const SECCOMP_OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
const SECCOMP_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'];
const SECCOMP_ARCHES = ['X86', 'X86_64', 'X32', 'ARM', 'AARCH64', 'MIPS', 'MIPS64', 'MIPS64N32', 'MIPSEL', 'MIPSEL64', 'MIPSEL64N32', 'PPC', 'PPC64', 'PPC64LE', 'S390', 'S390X', 'PARISC', 'PARISC64', 'RISCV64'].map((arch) => `SCMP_ARCH_${arch}`);

/** OCI linux.seccomp (defs-linux.json): what agent/runtime/seccomp.ts compiles. */
const SECCOMP: ParamRules = {
  defaultAction: { type: { oneOf: SECCOMP_ACTIONS }, required: true },
  defaultErrnoRet: { type: 'integer', min: 0, max: UINT32_MAX },
  flags: { type: { arrayOf: { type: { oneOf: SECCOMP_FLAGS } } } },
  listenerPath: { type: 'string' },
  listenerMetadata: { type: 'string' },
  architectures: { type: { arrayOf: { type: { oneOf: SECCOMP_ARCHES } } } },
  syscalls: {
    type: {
      arrayOf: {
        type: {
          fields: {
            names: { ...wordList, required: true },
            action: { type: { oneOf: SECCOMP_ACTIONS }, required: true },
            errnoRet: { type: 'integer', min: 0, max: UINT32_MAX },
            args: {
              type: {
                arrayOf: {
                  type: {
                    fields: {
                      // seccomp_data holds six arguments; values are u64, of which JSON carries 53 bits exactly.
                      index: { type: 'integer', required: true, min: 0, max: 5 },
                      value: { type: 'integer', required: true, min: 0 },
                      valueTwo: { type: 'integer', min: 0 },
                      op: { type: { oneOf: SECCOMP_OPERATORS }, required: true },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const VOLUME: ParamRules = {
  name: { type: 'string', required: true, maxLength: NAME_LENGTH },
  mountPath: { type: 'string', required: true },
  readOnly: { type: 'boolean' },
  hostPath: { type: 'string' },
};

const rules: { [M in AgentMethod]: ParamRules } = {
  ...LAB_PARAM_RULES,
  ...POD_PARAM_RULES,
  'agent.info': {},
  'container.run': {
    name: { type: 'string', maxLength: NAME_LENGTH },
    hostname: { type: 'string', maxLength: NAME_LENGTH },
    image: { type: 'string', maxLength: REFERENCE_LENGTH },
    entrypoint: argList,
    args: argList,
    tty: { type: 'boolean' },
    env: argList,
    memory: { type: 'string|number', maxLength: WORD_LENGTH },
    cpus: { type: 'string|number', maxLength: WORD_LENGTH },
    pids: { type: 'integer' },
    net: { type: { oneOf: ['bridge', 'none', 'host'] } },
    namespaces: { type: { arrayOf: { type: { oneOf: NAMESPACE_TYPES } } } },
    userns: { type: 'boolean' },
    bridge: { type: 'string', maxLength: WORD_LENGTH },
    subnet: { type: 'string', maxLength: WORD_LENGTH },
    ports: wordList,
    config: { type: 'oci-config' },
    createOnly: { type: 'boolean' },
    user: { type: 'string|number', maxLength: WORD_LENGTH },
    readOnlyRoot: { type: 'boolean' },
    capAdd: wordList,
    capDrop: wordList,
    seccomp: { type: { fields: SECCOMP, orOneOf: ['unconfined'] } },
    noNewPrivileges: { type: 'boolean' },
    deviceCgroupRules: wordList,
    noNewKeyring: { type: 'boolean' },
    privileged: { type: 'boolean' },
    pod: { type: 'string', maxLength: NAME_LENGTH },
    volumes: { type: { arrayOf: { type: { fields: VOLUME } } } },
    init: argList,
  },
  'container.start': { id },
  'container.list': {},
  'container.inspect': { id },
  'container.stop': { id, timeoutSeconds: { type: 'number', min: 0 } },
  'container.pause': { id },
  'container.resume': { id },
  'container.remove': { id, force: { type: 'boolean' } },
  'container.pathLayer': { id, path: { type: 'string', required: true } },
  'container.logs': { id, follow: { type: 'boolean' } },
  'container.layers': { id },
  'container.files.list': { id, path: { type: 'string', required: true } },
  'container.files.read': { id, path: { type: 'string', required: true }, offset: { type: 'integer', min: 0 }, length: { type: 'integer', min: 0, max: FILES_READ_LIMIT } },
  'exec.start': {
    id,
    args: { ...argList, required: true },
    tty: { type: 'boolean' },
    cols: terminalSize(false),
    rows: terminalSize(false),
    env: argList,
    cwd: { type: 'string' },
    privileged: { type: 'boolean' },
  },
  // Keystrokes and pastes, base64: bounded by the line limit of the JSON-RPC layer alone.
  'exec.input': { session, data: { type: 'string', required: true, maxLength: Number.POSITIVE_INFINITY } },
  'exec.resize': { session, cols: terminalSize(true), rows: terminalSize(true) },
  'exec.close': { session },
  'host.snapshot': {},
  'host.containers': { roots: { type: { arrayOf: { type: 'string' } } } },
  'image.pull': {
    reference: { type: 'string', required: true, maxLength: REFERENCE_LENGTH },
    insecureRegistries: { type: { arrayOf: { type: 'string', maxLength: NAME_LENGTH } } },
    platform: { type: 'string', maxLength: WORD_LENGTH },
  },
  'image.list': {},
  'image.inspect': { reference: { type: 'string', required: true, maxLength: REFERENCE_LENGTH } },
  'image.remove': { reference: { type: 'string', required: true, maxLength: REFERENCE_LENGTH }, ifUnused: { type: 'boolean' } },
  'image.prune': {},
  'image.import': { path: { type: 'string', required: true }, name: { type: 'string', maxLength: REFERENCE_LENGTH } },
  'node.list': {},
  'node.add': {
    name: { type: 'string', required: true, maxLength: NAME_LENGTH },
    address: { type: 'string', required: true, maxLength: WORD_LENGTH },
    subnet: { type: 'string', required: true, maxLength: WORD_LENGTH },
  },
  'node.remove': { name: { type: 'string', required: true, maxLength: NAME_LENGTH } },
  'node.mode': { mode: { type: { oneOf: NODE_MODES }, required: true }, vni: { type: 'integer', min: 1, max: 0xffffff } },
};

/** The rules, for tests that generate requests from them (wrong types for every field). */
export const PARAM_RULES: { readonly [M in AgentMethod]: ParamRules } = rules;

export function isAgentMethod(method: string): method is AgentMethod {
  return Object.prototype.hasOwnProperty.call(rules, method);
}

/** Returns the params typed for `method`, or throws RpcError(InvalidParams) naming the first problem. */
export function validateParams<M extends AgentMethod>(method: M, params: unknown): AgentMethods[M][0] {
  const value = params === undefined ? {} : params;
  if (!isRecord(value)) throw invalid(`${method}: params must be an object with named fields`);
  const problem = checkFields(value, rules[method], '');
  if (problem) throw invalid(`${method}: ${problem}`);
  return value as AgentMethods[M][0];
}

// --- the checks ----------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `volumes[0].name`: the place of a field, each key at most 40 characters, escaped as JSON would. */
function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const shown = JSON.stringify(excerpt(key)).slice(1, -1);
  return parent === '' ? shown : `${parent}.${shown}`;
}

function checkFields(record: Record<string, unknown>, fields: ParamRules, path: string): string | null {
  // Own keys only, "__proto__" and "constructor" included: JSON.parse makes them plain own keys.
  for (const key of Object.keys(record)) {
    if (!Object.prototype.hasOwnProperty.call(fields, key)) return `unknown parameter "${fieldPath(path, key)}"`;
  }
  for (const [key, rule] of Object.entries(fields)) {
    const field = record[key];
    if (field === undefined) {
      if (rule.required) return `missing parameter "${fieldPath(path, key)}"`;
      continue;
    }
    const problem = checkValue(field, rule, fieldPath(path, key));
    if (problem) return problem;
  }
  return null;
}

/** The first problem with `value` at `path`, or null. Recursion follows the rules, which are a few levels deep. */
function checkValue(value: unknown, rule: FieldRule, path: string): string | null {
  const type = rule.type;
  const wrong = (what: string): string => `parameter "${path}" ${what}`;
  if (typeof type === 'object') {
    if ('oneOf' in type) return typeof value === 'string' && type.oneOf.includes(value) ? null : wrong(`must be one of ${choices(type.oneOf)}`);
    if ('arrayOf' in type) {
      if (!Array.isArray(value)) return wrong('must be an array');
      for (let index = 0; index < value.length; index += 1) {
        const problem = checkValue(value[index], type.arrayOf, fieldPath(path, index));
        if (problem) return problem;
      }
      return null;
    }
    if (type.orOneOf && typeof value === 'string') return type.orOneOf.includes(value) ? null : wrong(`must be an object or one of ${choices(type.orOneOf)}`);
    return isRecord(value) ? checkFields(value, type.fields, path) : wrong(type.orOneOf ? `must be an object or one of ${choices(type.orOneOf)}` : 'must be an object');
  }
  switch (type) {
    case 'string':
      return typeof value === 'string' ? checkString(value, rule, wrong) : wrong('must be a string');
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? checkRange(value, rule, wrong, 'a number') : wrong('must be a number');
    case 'integer':
      return Number.isSafeInteger(value) ? checkRange(value as number, rule, wrong, 'an integer') : wrong(`must be ${rangeText(rule, 'an integer')}`);
    case 'boolean':
      return typeof value === 'boolean' ? null : wrong('must be true or false');
    case 'string|number':
      if (typeof value === 'string') return checkString(value, rule, wrong);
      return typeof value === 'number' && Number.isFinite(value) ? null : wrong('must be a string or a number');
    case 'oci-config':
      return checkConfig(value, path);
  }
}

function checkString(value: string, rule: FieldRule, wrong: (what: string) => string): string | null {
  const limit = rule.maxLength ?? DEFAULT_MAX_LENGTH;
  if (value.length > limit) return wrong(`is too long (${value.length} characters; at most ${limit})`);
  if (value.includes('\0')) return wrong('must not contain NUL characters');
  return null;
}

function checkRange(value: number, rule: FieldRule, wrong: (what: string) => string, kind: string): string | null {
  if ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) return wrong(`must be ${rangeText(rule, kind)}`);
  return null;
}

function rangeText(rule: FieldRule, kind: string): string {
  if (rule.min !== undefined && rule.max !== undefined) return `${kind} from ${rule.min} to ${rule.max}`;
  if (rule.min !== undefined) return `${kind} of at least ${rule.min}`;
  if (rule.max !== undefined) return `${kind} of at most ${rule.max}`;
  return kind;
}

/** "a, b, c"; a long list shows its first choices and how many there are, so the line stays short. */
function choices(list: readonly string[]): string {
  const all = list.join(', ');
  if (all.length <= 180) return all;
  return `${list.slice(0, 4).join(', ')}, … (${list.length} choices)`;
}

/**
 * A config.json: first walked without recursion (no NUL, no "__proto__" key, at most CONFIG_DEPTH
 * levels), then checked against the OCI schema, whose complaint is reported at its place.
 */
function checkConfig(value: unknown, path: string): string | null {
  if (!isRecord(value)) return `parameter "${path}" must be an object`;
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path, depth: 1 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === 'string' && item.value.includes('\0')) return `parameter "${item.path}" must not contain NUL characters`;
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth > CONFIG_DEPTH) return `parameter "${item.path}" nests deeper than ${CONFIG_DEPTH} levels`;
    const entries: [string | number, unknown][] = Array.isArray(item.value) ? item.value.map((inner, index) => [index, inner]) : Object.entries(item.value);
    for (const [key, inner] of entries) {
      // Code that copies a config key by key (target[key] = value) would set a prototype here.
      if (key === '__proto__') return `unknown parameter "${fieldPath(item.path, key)}"`;
      stack.push({ value: inner, path: fieldPath(item.path, key), depth: item.depth + 1 });
    }
  }
  const problem = configSchemaProblem(value);
  if (!problem) return null;
  const at = problem.at.reduce((parent, segment) => fieldPath(parent, /^\d+$/.test(segment) ? Number(segment) : segment), path);
  return `parameter "${at}" ${problem.message}`;
}

function invalid(message: string): RpcError {
  return new RpcError(RpcErrorCode.InvalidParams, message);
}

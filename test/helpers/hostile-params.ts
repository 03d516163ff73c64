/*
 * Hostile JSON-RPC requests, generated from the agent's own parameter rules
 * (agent/service/params.ts, which merges agent/labs/params.ts): for every field of every method,
 * nested ones included (volumes[0].name, seccomp.syscalls[0].args[0].op, …), values of every
 * wrong JSON type, out-of-range numbers and prototype-polluting keys — each in an otherwise valid
 * request, so the one wrong field is what the answer must name.
 *
 * And `checkErrorMessage`: what every error the agent sends must look like (one line, short, no
 * JavaScript internals, at most a 40-character prefix of anything the peer sent).
 */
import { PARAM_RULES } from '../../agent/service/params';
import type { FieldRule, ParamRules } from '../../agent/service/params';

export interface HostileCase {
  method: string;
  params: Record<string, unknown>;
  /** The field the answer must name, as the validator spells paths: volumes[0].name. */
  path: string;
  label: string;
}

/** Requests that must not make anything even when a check is missing: no network, a program that ends. */
const SAFE_BASE: Record<string, Record<string, unknown>> = {
  'container.run': { net: 'none', args: ['true'], name: 'hostile-never-made' },
};

/** Valid stand-ins for required fields: names nothing exists under, so a missed check finds nothing to act on. */
function validValue(rule: FieldRule, field: string): unknown {
  const type = rule.type;
  if (typeof type === 'object') {
    if ('oneOf' in type) return type.oneOf[0];
    if ('arrayOf' in type) return [validValue(type.arrayOf, field)];
    if ('fields' in type) return requiredOnly(type.fields);
    return {};
  }
  switch (type) {
    case 'string':
      return field === 'path' || field === 'mountPath' ? '/hostile' : field === 'defaultAction' || field === 'action' ? 'SCMP_ACT_ALLOW' : 'hostile-none';
    case 'number':
    case 'integer':
      return Math.max(rule.min ?? 1, Math.min(rule.max ?? 1, 1));
    case 'boolean':
      return false;
    case 'string|number':
      return 'hostile';
    case 'oci-config':
      return { ociVersion: '1.0.2' };
  }
}

function requiredOnly(rules: ParamRules): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const [field, rule] of Object.entries(rules)) if (rule.required) value[field] = validValue(rule, field);
  return value;
}

const KINDS: Record<string, unknown> = {
  string: 'seven',
  integer: 7,
  fraction: 7.5,
  boolean: true,
  null: null,
  array: [],
  object: {},
};

/** Values of the wrong JSON type (and the right type out of range) for one rule. */
function wrongValues(rule: FieldRule): [string, unknown][] {
  const type = rule.type;
  const all = Object.entries(KINDS);
  const except = (...kinds: string[]): [string, unknown][] => all.filter(([kind]) => !kinds.includes(kind));
  if (typeof type === 'object') {
    if ('oneOf' in type) return [['not one of the choices', 'no-such-choice'], ...except('string')];
    if ('arrayOf' in type) return except('array');
    if ('fields' in type) return [...except('object'), ['an array of objects', [{}]]];
  }
  switch (type) {
    case 'string':
      return except('string');
    case 'number':
      return [...except('integer', 'fraction'), ['a number as text', '7']];
    case 'integer': {
      const values = [...except('integer'), ['2^53', 2 ** 53], ['1e308', 1e308], ['-1e308', -1e308]] as [string, unknown][];
      if (rule.min !== undefined) values.push(['below the minimum', rule.min - 1]);
      if (rule.max !== undefined) values.push(['above the maximum', rule.max + 1]);
      return values;
    }
    case 'boolean':
      return [...except('boolean'), ['"true"', 'true'], ['1', 1]];
    case 'string|number':
      return except('string', 'integer', 'fraction');
    case 'oci-config':
      return [...except('object'), ['ociVersion a number', { ociVersion: 1 }], ['args a string', { ociVersion: '1.0.2', process: { args: 'sh', cwd: '/', user: { uid: 0, gid: 0 } } }]];
  }
  return [];
}

/** Every wrong value for `rule` at `path`, placed into a value that is otherwise valid. */
function casesForField(path: string, field: string, rule: FieldRule, wrap: (value: unknown) => Record<string, unknown>, method: string): HostileCase[] {
  const cases: HostileCase[] = wrongValues(rule).map(([kind, value]) => ({ method, params: wrap(value), path, label: `${method} ${path} = ${kind}` }));
  const type = rule.type;
  if (typeof type === 'object' && 'arrayOf' in type) {
    cases.push(...casesForField(`${path}[0]`, field, type.arrayOf, (item) => wrap([item]), method));
  }
  if (typeof type === 'object' && 'fields' in type) {
    const fields = type.fields;
    const base = requiredOnly(fields);
    for (const key of ['__proto__', 'constructor', 'toString']) {
      // JSON.parse makes "__proto__" an own key, as a hostile peer's bytes would: a literal would set the prototype.
      const polluted = JSON.parse(`{${JSON.stringify(key)}: {"polluted": true}}`) as Record<string, unknown>;
      cases.push({ method, params: wrap({ ...base, ...polluted }), path: `${path}.${key}`, label: `${method} ${path} with own key ${key}` });
    }
    for (const [inner, innerRule] of Object.entries(fields)) {
      cases.push(...casesForField(`${path}.${inner}`, inner, innerRule, (value) => wrap({ ...base, [inner]: value }), method));
    }
  }
  return cases;
}

/** Wrong types for every field of every method, from the rules the agent itself applies. */
export function wrongTypeCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const [method, rules] of Object.entries(PARAM_RULES as Record<string, ParamRules>)) {
    const base = { ...requiredOnly(rules), ...(SAFE_BASE[method] ?? {}) };
    for (const [field, rule] of Object.entries(rules)) {
      cases.push(...casesForField(field, field, rule, (value) => ({ ...base, [field]: value }), method));
    }
    for (const key of ['__proto__', 'constructor']) {
      const polluted = JSON.parse(`{${JSON.stringify(key)}: {"isAdmin": true}}`) as Record<string, unknown>;
      cases.push({ method, params: { ...base, ...polluted }, path: key, label: `${method} with own key ${key}` });
    }
  }
  return cases;
}

// --- what an error must look like --------------------------------------------------------------------

export const MAX_MESSAGE = 300;
export const MAX_ECHO = 40;
const JS_INTERNALS = /TypeError|RangeError|SyntaxError|ReferenceError|Cannot read propert|Cannot set propert|is not a function|is not iterable|Maximum call stack|undefined|\[object Object\]|\bat [\w.<>]+ \(|\.(?:js|ts|cjs):\d+/;

/** Every string in a value (keys too), walked without recursion: hostile values are deep. */
export function stringsIn(value: unknown, limit = 10_000): string[] {
  const found: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0 && found.length < limit) {
    const item = stack.pop();
    if (typeof item === 'string') found.push(item);
    else if (Array.isArray(item)) stack.push(...item.slice(0, 1000));
    else if (typeof item === 'object' && item !== null) {
      for (const [key, inner] of Object.entries(item).slice(0, 1000)) {
        found.push(key);
        stack.push(inner);
      }
    }
  }
  return found;
}

/** The problems with one error message ([] when it is fine); `inputs` are the strings the peer sent. */
export function checkErrorMessage(message: unknown, inputs: readonly string[]): string[] {
  if (typeof message !== 'string') return [`the message is ${typeof message}, not a string`];
  const problems: string[] = [];
  const shown = JSON.stringify(message.length > 200 ? `${message.slice(0, 200)}…` : message);
  if (/[\n\r\u2028\u2029]/.test(message)) problems.push(`more than one line: ${shown}`);
  if (message.length > MAX_MESSAGE) problems.push(`${message.length} characters (at most ${MAX_MESSAGE}): ${shown}`);
  if (message.trim() === '') problems.push('an empty message');
  const internal = JS_INTERNALS.exec(message);
  if (internal) problems.push(`JavaScript internals ("${internal[0]}"): ${shown}`);
  for (const input of inputs) {
    if (input.length <= MAX_ECHO) continue;
    const raw = input.slice(0, MAX_ECHO + 1);
    const escaped = JSON.stringify(input).slice(1, MAX_ECHO + 2);
    if (message.includes(raw) || message.includes(escaped)) problems.push(`echoes more than ${MAX_ECHO} characters of an input: ${shown}`);
  }
  return problems;
}

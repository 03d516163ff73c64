/*
 * Checking request parameters before they reach the runtime.
 *
 * JSON-RPC peers are programs, and a program's mistake ("id": 7, a misspelt "timeoutSecond") should
 * come back as -32602 Invalid params with one line naming the field, not as a TypeError deep in
 * the runtime. Each method lists its fields with a type; unknown fields are rejected too, so a typo
 * never silently falls back to a default. Whether a value makes sense (is "64q" a size?) is the
 * runtime's judgement and comes back as a BadInput error.
 */
import { NAMESPACE_TYPES, RpcErrorCode } from '../protocol';
import type { AgentMethod, AgentMethods } from '../protocol';
import { RpcError } from './jsonrpc';
import { LAB_PARAM_RULES } from '../labs/params';

type FieldType =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'object'
  | 'string[]'
  | 'object[]'
  | 'string|number'
  | { oneOf: readonly string[] }
  | { listOf: readonly string[] };

interface FieldRule {
  type: FieldType;
  required?: boolean;
}

type ParamRules = Record<string, FieldRule>;

const id: FieldRule = { type: 'string', required: true };
const session: FieldRule = { type: 'string', required: true };

const rules: { [M in AgentMethod]: ParamRules } = {
  ...LAB_PARAM_RULES,
  'agent.info': {},
  'container.run': {
    name: { type: 'string' },
    hostname: { type: 'string' },
    image: { type: { oneOf: ['busybox'] } },
    args: { type: 'string[]' },
    env: { type: 'string[]' },
    memory: { type: 'string|number' },
    cpus: { type: 'string|number' },
    pids: { type: 'integer' },
    net: { type: { oneOf: ['bridge', 'none', 'host'] } },
    namespaces: { type: { listOf: NAMESPACE_TYPES } },
    userns: { type: 'boolean' },
    bridge: { type: 'string' },
    subnet: { type: 'string' },
    config: { type: 'object' },
    createOnly: { type: 'boolean' },
    user: { type: 'string|number' },
    readOnlyRoot: { type: 'boolean' },
    capAdd: { type: 'string[]' },
    capDrop: { type: 'string[]' },
    seccomp: { type: 'object' },
    noNewPrivileges: { type: 'boolean' },
    pod: { type: 'string' },
    volumes: { type: 'object[]' },
    init: { type: 'string[]' },
  },
  'container.start': { id },
  'container.list': {},
  'container.inspect': { id },
  'container.stop': { id, timeoutSeconds: { type: 'number' } },
  'container.pause': { id },
  'container.resume': { id },
  'container.remove': { id, force: { type: 'boolean' } },
  'container.pathLayer': { id, path: { type: 'string', required: true } },
  'container.logs': { id, follow: { type: 'boolean' } },
  'exec.start': {
    id,
    args: { type: 'string[]', required: true },
    tty: { type: 'boolean' },
    cols: { type: 'integer' },
    rows: { type: 'integer' },
    env: { type: 'string[]' },
    cwd: { type: 'string' },
    privileged: { type: 'boolean' },
  },
  'exec.input': { session, data: { type: 'string', required: true } },
  'exec.resize': { session, cols: { type: 'integer', required: true }, rows: { type: 'integer', required: true } },
  'exec.close': { session },
  'host.snapshot': {},
};

export function isAgentMethod(method: string): method is AgentMethod {
  return Object.prototype.hasOwnProperty.call(rules, method);
}

/** Returns the params typed for `method`, or throws RpcError(InvalidParams) naming the first problem. */
export function validateParams<M extends AgentMethod>(method: M, params: unknown): AgentMethods[M][0] {
  const value = params === undefined ? {} : params;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${method}: params must be an object with named fields`);
  }
  const record = value as Record<string, unknown>;
  const methodRules = rules[method];
  for (const key of Object.keys(record)) {
    if (!Object.prototype.hasOwnProperty.call(methodRules, key)) {
      throw invalid(`${method}: unknown parameter "${key}"`);
    }
  }
  for (const [key, rule] of Object.entries(methodRules)) {
    const field = record[key];
    if (field === undefined) {
      if (rule.required) throw invalid(`${method}: missing parameter "${key}"`);
      continue;
    }
    const problem = checkType(field, rule.type);
    if (problem) throw invalid(`${method}: parameter "${key}" ${problem}`);
  }
  return record as AgentMethods[M][0];
}

function checkType(value: unknown, type: FieldType): string | null {
  if (typeof type === 'object') {
    if ('oneOf' in type) {
      return typeof value === 'string' && type.oneOf.includes(value) ? null : `must be one of ${type.oneOf.join(', ')}`;
    }
    if (!Array.isArray(value)) return `must be an array of ${type.listOf.join(', ')}`;
    const unknown = value.find((item) => typeof item !== 'string' || !type.listOf.includes(item));
    return unknown === undefined ? null : `contains ${JSON.stringify(unknown)}; known: ${type.listOf.join(', ')}`;
  }
  switch (type) {
    case 'string':
      return typeof value === 'string' ? null : 'must be a string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a number';
    case 'integer':
      return Number.isSafeInteger(value) ? null : 'must be an integer';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? null : 'must be an object';
    case 'string[]':
      return Array.isArray(value) && value.every((item) => typeof item === 'string') ? null : 'must be an array of strings';
    case 'object[]':
      return Array.isArray(value) && value.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item)) ? null : 'must be an array of objects';
    case 'string|number':
      return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) ? null : 'must be a string or a number';
  }
}

function invalid(message: string): RpcError {
  return new RpcError(RpcErrorCode.InvalidParams, message);
}

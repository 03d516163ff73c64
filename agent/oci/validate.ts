/*
 * Checking an OCI runtime-spec document against the specification's own JSON Schema.
 *
 * The Open Container Initiative's runtime specification describes a container as one JSON file,
 * `config.json`: the process to run, its root filesystem, mounts, namespaces, id mappings and
 * cgroup resources. runc, crun, youki and Containers Lab all realise that same document, so the
 * manifest a learner sees in VS Code is exactly what the runtime was given. The spec ships a
 * JSON Schema (draft-04) for it; we validate against those files, copied unmodified into
 * ./schema so the agent carries them to the lab VM.
 *
 * Compiling the schema with ajv inside the agent would cost about a second and ~20 MiB on the lab
 * VM, so ./generate-validators.ts compiles it ahead of time into ./schema/validators.generated.js
 * (plain functions, no dependencies), loaded here on first use only: an idle agent pays nothing.
 */
import type { ErrorObject } from 'ajv';
import { badInput } from '../errors';
import type { OciSpec } from '../protocol';

/** The runtime state document (`runc state`), as the spec's state-schema.json describes it. */
export interface OciState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/** What ajv's generated code exports per schema: a predicate that leaves its errors on itself. */
interface ValidateFunction {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

interface Validators {
  config: ValidateFunction;
  state: ValidateFunction;
}

let validators: Validators | null = null;

function loadValidators(): Validators {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  validators ??= require('./schema/validators.generated.js') as Validators;
  return validators;
}

/** Turns ajv's first error into one line: "config.json: /process/args must be array". */
function firstProblem(document: string, validate: ValidateFunction): string {
  const error = validate.errors?.[0];
  if (!error) return `${document}: does not match the OCI schema`;
  const where = error.instancePath === '' ? '/' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'additionalProperties') message = `has unknown property "${String(params['additionalProperty'])}"`;
  if (error.keyword === 'enum') message = `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${document}: ${where} ${message}`;
}

function validateWith<T>(document: string, which: keyof Validators, doc: unknown): T {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw badInput(`${document}: must be a JSON object`);
  }
  const validate = loadValidators()[which];
  if (!validate(doc)) throw badInput(firstProblem(document, validate));
  return doc as T;
}

/** Validates a config.json document; throws a one-line bad-input LabError naming the first problem. */
export function validateConfig(doc: unknown): OciSpec {
  return validateWith<OciSpec>('config.json', 'config', doc);
}

/** Validates a runtime state document (what `runc state` prints). */
export function validateState(doc: unknown): OciState {
  return validateWith<OciState>('state.json', 'state', doc);
}

/** Parses config.json text, reporting malformed JSON as one line, then validates it. */
export function parseConfig(text: string): OciSpec {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw badInput(`config.json: not valid JSON (${(error as Error).message.split('\n')[0]})`);
  }
  return validateConfig(doc);
}

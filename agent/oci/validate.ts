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
import { badInput, excerpt, LabError, quote } from '../errors';
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

/** What is wrong with a document, where: the JSON-pointer segments of the place, and a phrase. */
export interface SchemaProblem {
  /** ["process", "args"] for /process/args; [] for the document itself. */
  at: string[];
  message: string;
}

/** ajv's first error as a place and a phrase (a key the user made up shows as its first 40 characters). */
function problemOf(validate: ValidateFunction): SchemaProblem {
  const error = validate.errors?.[0];
  if (!error) return { at: [], message: 'does not match the OCI schema' };
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'additionalProperties') message = `has unknown property ${quote(String(params['additionalProperty']))}`;
  if (error.keyword === 'enum') message = `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  // A JSON pointer escapes "/" as ~1 and "~" as ~0 inside a segment.
  const at = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  return { at, message };
}

/** One key of a document as a message shows it: cut short, control characters escaped (a key may hold a newline; a message is one line). */
function keyText(segment: string | number): string {
  return excerpt(String(segment)).replace(/[\u0000-\u001f\u007f]/g, (character) => JSON.stringify(character).slice(1, -1));
}

/** JSON-pointer segments as one pointer: "/linux/sysctl/net.ipv4.ip_forward" ("/" in a key is "~1"). */
export function pointerOf(at: readonly (string | number)[]): string {
  return `/${at.map((segment) => keyText(segment).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

/** Turns ajv's first error into one line: "config.json: /process/args must be array". */
function firstProblem(document: string, validate: ValidateFunction): string {
  const { at, message } = problemOf(validate);
  return `${document}: ${pointerOf(at)} ${message}`;
}

/**
 * A schema-valid document that asks for something this runtime cannot do, as one line naming the
 * field: "config.json: /linux/intelRdt is not supported by this runtime".
 */
export function configFieldError(at: readonly (string | number)[], phrase: string): LabError {
  return badInput(`config.json: ${pointerOf(at)} ${phrase}`);
}

/** What to do with a property runtime-spec 1.1 does not define: refuse the document, or ignore it with a warning (the spec's MUST for a runtime). */
export type UnknownFields = 'refuse' | 'ignore';

const IGNORED_UNKNOWN = 'is not part of runtime-spec 1.1 for Linux: ignored, as the spec says a runtime must';
/** How many ignored properties are named one by one; a document with thousands gets one more line, not thousands. */
export const NAMED_UNKNOWN_FIELDS = 10;
const MORE_UNKNOWN = `further properties that are not part of runtime-spec 1.1 for Linux: ignored, not named one by one (after ${NAMED_UNKNOWN_FIELDS})`;

/** A property runtime-spec 1.1 does not define: refused in one line, or (ignored) said in `warnings`. */
export function unknownField(at: readonly (string | number)[], unknown: UnknownFields, warnings: string[]): void {
  if (unknown === 'refuse') throw configFieldError(at, 'is not part of runtime-spec 1.1 for Linux');
  const named = warnings.filter((warning) => warning.endsWith(IGNORED_UNKNOWN)).length;
  if (named < NAMED_UNKNOWN_FIELDS) warnings.push(`${at.map(keyText).join('.')} ${IGNORED_UNKNOWN}`);
  else if (!warnings.includes(MORE_UNKNOWN)) warnings.push(MORE_UNKNOWN);
}

/**
 * The first way `doc` breaks the OCI config schema, or null when it is a valid config.json. For
 * callers that report the place in their own words (the service names it as a parameter path).
 */
export function configSchemaProblem(doc: unknown): SchemaProblem | null {
  const validate = loadValidators().config;
  return validate(doc) ? null : problemOf(validate);
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

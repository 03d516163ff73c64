/*
 * Finding and reading lab files. Labs are YAML documents under labs/ (levels/ and exercises/);
 * CI validates each against labs/schema/lab.schema.json. The loader parses them and re-checks
 * what the engine itself relies on, so a broken file is refused with one line naming the file and
 * the problem instead of failing half-way through a setup.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { badInput, notFound } from '../errors';
import { LAB_DOMAINS, LAB_FEATURES } from '../protocol/labs';
import { CHECK_KINDS, type CheckSpec, type LabDefinition } from './format';

/**
 * Where the lab files are: $CONTAINERS_LAB_LABS, else a labs/ directory beside the bundled agent
 * (dist/agent/labs) or at the top of the repository (from agent/labs or dist/agent).
 */
export function defaultLabsDirectory(): string {
  const candidates = [process.env.CONTAINERS_LAB_LABS, join(__dirname, 'labs'), join(__dirname, '..', '..', 'labs')];
  for (const candidate of candidates) {
    if (candidate && existsSync(join(candidate, 'schema', 'lab.schema.json'))) return resolve(candidate);
  }
  throw notFound(`no lab files found (looked in ${candidates.filter(Boolean).join(', ')}); set CONTAINERS_LAB_LABS`);
}

/** Every *.yaml file under `directory`, sorted, as paths. */
export function labFiles(directory: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'schema') walk(path);
      else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) files.push(path);
    }
  };
  walk(directory);
  return files;
}

export function parseLabFile(path: string): unknown {
  return parse(readFileSync(path, 'utf8')) as unknown;
}

/** Reads and checks every lab; levels first in path order, then exercises. */
export function loadLabs(directory: string = defaultLabsDirectory()): LabDefinition[] {
  const labs = labFiles(directory).map((path) => checkLab(parseLabFile(path), path));
  const seen = new Set<string>();
  for (const lab of labs) {
    if (seen.has(lab.id)) throw badInput(`lab id "${lab.id}" is used by more than one file`);
    seen.add(lab.id);
  }
  return labs.sort((a, b) => (a.kind === b.kind ? a.order - b.order : a.kind === 'level' ? -1 : 1));
}

/** The checks the engine depends on; the JSON Schema checks the rest of the shape. */
export function checkLab(value: unknown, source: string): LabDefinition {
  const fail = (problem: string): never => {
    throw badInput(`${source}: ${problem}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('a lab file holds one mapping');
  const lab = value as LabDefinition;
  for (const field of ['id', 'title', 'task'] as const) if (typeof lab[field] !== 'string' || lab[field] === '') fail(`"${field}" must be a non-empty string`);
  if (lab.kind !== 'level' && lab.kind !== 'exercise') fail('"kind" must be level or exercise');
  if (!(LAB_DOMAINS as readonly string[]).includes(lab.domain)) fail(`unknown domain "${String(lab.domain)}"`);
  for (const feature of lab.requires ?? []) if (!(LAB_FEATURES as readonly string[]).includes(feature)) fail(`unknown runtime feature "${feature}"`);
  if (!Array.isArray(lab.checks) || lab.checks.length === 0) fail('a lab needs at least one check');
  const ids = new Set<string>();
  for (const check of lab.checks) {
    if (typeof check.id !== 'string' || ids.has(check.id)) fail(`check id ${JSON.stringify(check.id)} is missing or repeated`);
    ids.add(check.id);
    if (!CHECK_KINDS.includes(check.kind)) fail(`check "${check.id}": unknown kind "${String(check.kind)}"`);
    if (check.failcheck) {
      if (check.weight !== 0) fail(`check "${check.id}": a failcheck scores nothing itself (weight: 0)`);
    } else if (!(typeof check.weight === 'number' && check.weight > 0)) fail(`check "${check.id}": weight must be a positive number`);
    if (typeof check.params !== 'object' || check.params === null) fail(`check "${check.id}": params must be a mapping`);
  }
  for (const check of lab.checks) {
    for (const need of check.needs ?? []) if (!ids.has(need)) fail(`check "${check.id}" needs "${need}", which is not a check of this lab`);
  }
  orderByNeeds(lab.checks, fail);
  if (!lab.solution || !Array.isArray(lab.solution.steps) || lab.solution.steps.length === 0) fail('a lab needs a reference solution with steps');
  const max = lab.checks.reduce((sum, check) => sum + check.weight, 0);
  if (lab.partial && !(lab.partial.score > 0 && lab.partial.score < max)) fail(`partial.score must be between 0 and ${max} (exclusive)`);
  for (const [index, answer] of (lab.answers ?? []).entries()) {
    if (answer.verdict === 'right' && answer.score !== undefined) fail(`answers[${index}]: a right answer scores full; give no score`);
    if (answer.verdict === 'wrong' && answer.score !== undefined && !(answer.score >= 0 && answer.score < max)) fail(`answers[${index}]: a wrong answer's score must be below ${max}`);
  }
  const declared = new Set(lab.networks ?? []);
  for (const [, kind, name] of JSON.stringify(lab).matchAll(/\{\{\s*(network|subnet|address):([a-z0-9-]+)(?::\d+)?\s*\}\}/g)) {
    if (!declared.has(name!)) fail(`{{${kind}:${name}}} names a network the lab does not list under "networks"`);
  }
  return lab;
}

/** The checks in an order where every check comes after the ones it needs; refuses cycles. */
export function orderByNeeds(checks: CheckSpec[], fail: (problem: string) => never = (problem) => {
  throw badInput(problem);
}): CheckSpec[] {
  const byId = new Map(checks.map((check) => [check.id, check]));
  const ordered: CheckSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (check: CheckSpec, path: string[]): void => {
    const mark = state.get(check.id);
    if (mark === 'done') return;
    if (mark === 'visiting') fail(`checks need each other in a cycle: ${[...path, check.id].join(' → ')}`);
    state.set(check.id, 'visiting');
    for (const need of check.needs ?? []) visit(byId.get(need)!, [...path, check.id]);
    state.set(check.id, 'done');
    ordered.push(check);
  };
  for (const check of checks) visit(check, []);
  return ordered;
}

/*
 * Every lab file against labs/schema/lab.schema.json (ajv), and the loader's own checks: ids
 * unique, `needs` naming checks of the same lab, no cycles, partial scores its weights can give.
 */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { checkLab, labFiles, loadLabs, parseLabFile } from '../agent/labs/loader';
import { LABS_DIRECTORY } from './labs-harness';

const schema = JSON.parse(readFileSync(join(LABS_DIRECTORY, 'schema', 'lab.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const files = labFiles(LABS_DIRECTORY);

describe('lab files', () => {
  test.each(files.map((file) => [file.slice(LABS_DIRECTORY.length + 1), file]))('%s matches the schema', (_, file) => {
    const valid = validate(parseLabFile(file));
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  test('the loader accepts them all: ≥12 levels, ≥20 exercises, unique ids, partial scores reachable by weights', () => {
    const labs = loadLabs(LABS_DIRECTORY);
    expect(labs.filter((lab) => lab.kind === 'level').length).toBeGreaterThanOrEqual(12);
    expect(labs.filter((lab) => lab.kind === 'exercise').length).toBeGreaterThanOrEqual(20);
    for (const lab of labs.filter((candidate) => candidate.partial)) {
      // the partial score must be a sum of some checks' weights
      const weights = lab.checks.map((check) => check.weight);
      const sums = weights.reduce((all, weight) => new Set([...all, ...[...all].map((sum) => sum + weight)]), new Set([0]));
      expect(sums.has(lab.partial!.score), lab.id).toBe(true);
    }
  });
});

describe('the mock exams', () => {
  // The CKA's curriculum weights, by points.
  const CKA = {
    Troubleshooting: 30,
    'Cluster Architecture, Installation & Configuration': 25,
    'Services & Networking': 20,
    'Workloads & Scheduling': 15,
    Storage: 10,
  };
  const exams = loadLabs(LABS_DIRECTORY).filter((lab) => lab.id.startsWith('mock-exam'));

  test.each(exams.map((lab) => [lab.id, lab]))('%s: 15–20 numbered tasks in 2 hours, every point in a domain, weighted like the CKA', (_, lab) => {
    expect(lab.timeLimitMinutes).toBe(120);
    const scored = lab.checks.filter((check) => check.weight > 0);
    const tasks = new Set(scored.map((check) => /^(\d+): /.exec(check.title)?.[1]));
    expect(tasks.has(undefined), 'every scored check is titled "N: …" after its task').toBe(false);
    expect(tasks.size).toBeGreaterThanOrEqual(15);
    expect(tasks.size).toBeLessThanOrEqual(20);
    expect([...tasks].map(Number).sort((a, b) => a - b)).toEqual([...tasks].map((_, index) => index + 1));
    const total = scored.reduce((sum, check) => sum + check.weight, 0);
    const points: Record<string, number> = {};
    for (const check of scored) points[check.domain!] = (points[check.domain!] ?? 0) + (100 * check.weight) / total;
    expect(points).toEqual(CKA);
    // each task in one domain, and the task text says how many points it is worth
    for (const task of tasks) {
      const checks = scored.filter((check) => check.title.startsWith(`${task}: `));
      expect(new Set(checks.map((check) => check.domain)).size).toBe(1);
      const worth = checks.reduce((sum, check) => sum + check.weight, 0);
      expect(lab.task).toMatch(new RegExp(`\\n\\s*${task}\\. \\*\\*[^*]+ \\(${worth}\\)\\*\\*`));
    }
  });

  test('the exercises outside the exams are weighted like the CKA too: each domain within 3 points of its share', () => {
    const exercises = loadLabs(LABS_DIRECTORY).filter((lab) => lab.kind === 'exercise' && !lab.id.startsWith('mock-exam'));
    const share: Record<string, number> = {};
    for (const lab of exercises) share[lab.domain] = (share[lab.domain] ?? 0) + 100 / exercises.length;
    expect(Object.keys(share).sort()).toEqual(Object.keys(CKA).sort());
    for (const [domain, weight] of Object.entries(CKA)) expect(Math.abs(share[domain]! - weight), `${domain}: ${share[domain]!.toFixed(1)}% of ${exercises.length} exercises`).toBeLessThanOrEqual(3);
  });

  test('two exams, no container or pod of one in the other', () => {
    expect(exams.map((lab) => lab.id)).toEqual(['mock-exam', 'mock-exam-b']);
    const names = exams.map((lab) => new Set(lab.checks.flatMap((check) => Object.entries(check.params)
      .filter(([key]) => ['container', 'pod', 'from', 'to'].includes(key))
      .map(([, value]) => String(value).split('/')[0]))));
    expect([...names[0]!].filter((name) => names[1]!.has(name))).toEqual([]);
  });
});

describe('the schema and the loader refuse broken labs', () => {
  const good = (): Record<string, unknown> => JSON.parse(JSON.stringify(parseLabFile(files[0]!))) as Record<string, unknown>;

  test('schema: an unknown check kind, a missing message, an unknown field', () => {
    const unknownKind = good();
    (unknownKind.checks as Record<string, unknown>[])[0]!.kind = 'telepathy';
    expect(validate(unknownKind)).toBe(false);
    const noMessage = good();
    delete (noMessage.checks as Record<string, unknown>[])[0]!.message;
    expect(validate(noMessage)).toBe(false);
    expect(validate({ ...good(), answer: 42 })).toBe(false);
  });

  test('loader: needs on a missing check, a cycle, a repeated check id', () => {
    const lab = good();
    const checks = lab.checks as Record<string, unknown>[];
    const [first, second] = [checks[0]!.id as string, checks[1]!.id as string];
    expect(() => checkLab({ ...lab, checks: [{ ...checks[0], needs: ['ghost'] }] }, 'x.yaml')).toThrow(`x.yaml: check "${first}" needs "ghost"`);
    const cycle = [{ ...checks[0], needs: [second] }, { ...checks[1], needs: [first] }];
    expect(() => checkLab({ ...lab, checks: cycle, partial: undefined }, 'x.yaml')).toThrow(`cycle: ${first} → ${second} → ${first}`);
    expect(() => checkLab({ ...lab, checks: [checks[0], checks[0]] }, 'x.yaml')).toThrow(/repeated/);
  });
});

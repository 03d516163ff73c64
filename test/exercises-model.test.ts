/*
 * The Exercises view's and the exercise panel's pure parts, on the real lab files and the real
 * engine: grouping (learning path, then CKA domains), the ✓ / ✗ / ○ choice and "score/max" from
 * progress the engine wrote after real checks against the kernel (level "uts-namespace": its
 * partial solution, then its full one), the countdown and how a time-up reads, and the Markdown reader on every lab's task
 * (nothing lost, nothing invented, no markup from a lab ever becomes markup).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LabEngine } from '../agent/labs/engine';
import { loadLabs } from '../agent/labs/loader';
import { LAB_DOMAINS, type LabCheckReport, type LabProgress, type LabSummary } from '../agent/protocol';
import { removeBridge } from '../agent/runtime/network';
import { openRuntime } from '../agent/runtime/runtime';
import type { ContainerRuntime } from '../agent/runtime/api';
import {
  exerciseDescription,
  exerciseStatus,
  exerciseTooltip,
  groupLabs,
  LEARNING_PATH_LABEL,
  pickOrder,
  scoreText,
  sectionDescription,
  statusLook,
} from '../extension/views/exercises/model';
import { inlineText, parseInline, parseMarkdown, type Block } from '../extension/webviews/exercise/markdown';
import { clockTime, reportIsStale, timeUpOf, timeUpText } from '../extension/webviews/exercise/ending';
import { attemptDeadline, countdown } from '../extension/webviews/exercise/timer';
import { leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { LABS_DIRECTORY } from './labs-harness';

const BRIDGE = 'clexm0';
const SUBNET = '10.77.132.0/24';

let stateRoot: string;
let runtime: ContainerRuntime;
let engine: LabEngine;

beforeAll(() => {
  stateRoot = mkdtempSync('/tmp/cl-exercises-model-');
  runtime = openRuntime({ stateRoot, defaultBridge: { name: BRIDGE, subnet: SUBNET } });
  engine = new LabEngine(runtime, { stateRoot, labsDirectory: LABS_DIRECTORY });
});

afterAll(async () => {
  for (const summary of runtime?.list() ?? []) await runtime.remove(summary.id, true);
  if (runtime) {
    removeBridge(BRIDGE, stateRoot);
    runtime.close();
  }
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('grouping the real labs', () => {
  test('the learning path first, its levels in order; then each CKA domain with exercises, in the curriculum\'s order', () => {
    const labs = engine.list();
    const sections = groupLabs(labs);
    expect(sections[0]!.label).toBe(LEARNING_PATH_LABEL);
    const levels = sections[0]!.labs;
    expect(levels.length).toBeGreaterThanOrEqual(12);
    expect(levels.every((lab) => lab.kind === 'level')).toBe(true);
    expect(levels.map((lab) => lab.order)).toEqual([...levels.map((lab) => lab.order)].sort((a, b) => a - b));
    expect(levels[0]!.id).toBe('a-process');

    const domains = sections.slice(1).map((section) => section.domain);
    expect(domains).toEqual(LAB_DOMAINS.filter((domain) => domains.includes(domain)));
    for (const section of sections.slice(1)) {
      expect(section.labs.length).toBeGreaterThan(0);
      expect(section.labs.every((lab) => lab.kind === 'exercise' && lab.domain === section.domain)).toBe(true);
      expect(section.key).toBe(`domain:${section.domain}`);
    }
    // every lab exactly once
    const listed = sections.flatMap((section) => section.labs.map((lab) => lab.id));
    expect([...listed].sort()).toEqual(labs.map((lab) => lab.id).sort());
    expect(new Set(listed).size).toBe(listed.length);
    expect(sections.slice(1).flatMap((section) => section.labs).length).toBeGreaterThanOrEqual(20);
  });

  test('the quick pick puts the last opened lab first and keeps the tree\'s order otherwise', () => {
    const labs = engine.list();
    const tree = groupLabs(labs).flatMap((section) => section.labs.map((lab) => lab.id));
    expect(pickOrder(labs, undefined).map((lab) => lab.id)).toEqual(tree);
    expect(pickOrder(labs, 'no-such-lab').map((lab) => lab.id)).toEqual(tree);
    const last = tree[7]!;
    expect(pickOrder(labs, last).map((lab) => lab.id)).toEqual([last, ...tree.filter((id) => id !== last)]);
  });
});

describe('progress from real checks: ○ → ✗ (partial credit) → ✓', () => {
  const summary = (): LabSummary => engine.list().find((lab) => lab.id === 'uts-namespace')!;

  test('not tried: ○, "–/max", tooltip with difficulty and time limit', () => {
    const lab = summary();
    expect(exerciseStatus(lab.progress)).toBe('not-tried');
    expect(statusLook('not-tried').glyph).toBe('○');
    expect(exerciseDescription(lab)).toBe(`–/${lab.progress.max}`);
    const tooltip = exerciseTooltip(lab);
    expect(tooltip).toContain(`Difficulty: ${lab.difficulty}`);
    expect(tooltip).toContain(`Time limit: ${lab.timeLimitMinutes} min`);
    expect(tooltip).toContain('Not tried yet');
  });

  test('started and solved halfway by the learner: ✗ with the partial score the weights give, "started"', async () => {
    await engine.start('uts-namespace');
    // what a learner types: a container with its own UTS namespace, but not the hostname asked for
    await runtime.run({ name: 'named', args: ['sleep', '3600'] });
    const report = await engine.check('uts-namespace');
    expect(report.passed).toBe(false);
    expect(report.score).toBeGreaterThan(0);
    const lab = summary();
    expect(exerciseStatus(lab.progress)).toBe('tried');
    const look = statusLook('tried');
    expect([look.glyph, look.icon, look.color]).toEqual(['✗', 'error', 'testing.iconFailed']);
    expect(scoreText(lab.progress)).toBe(`${report.score}/${report.max}`);
    expect(exerciseDescription(lab)).toBe(`${report.score}/${report.max} · started`);
    expect(exerciseTooltip(lab)).toMatch(new RegExp(`^✗ Best ${report.score}/${report.max}, last ${report.score}/${report.max} \\(1 check\\)$`, 'm'));
  });

  test('the reference solution solves it: ◐ "solution shown", not completed, and checks after it do not count', async () => {
    await engine.reset('uts-namespace');
    const report = await engine.solve('uts-namespace');
    expect(report.passed).toBe(true);
    let lab = summary();
    expect(lab.progress).toMatchObject({ completed: false, solvedByReference: true, attempts: 1 });
    expect(exerciseStatus(lab.progress)).toBe('shown');
    expect(statusLook('shown').glyph).toBe('◐');
    expect(exerciseDescription(lab)).toContain('solution shown');
    // the reference's containers pass every check, but that is not the learner's work
    expect((await engine.check('uts-namespace')).passed).toBe(true);
    lab = summary();
    expect(lab.progress).toMatchObject({ completed: false, attempts: 1 });
    expect(exerciseStatus(lab.progress)).toBe('shown');
  });

  test('solved by the learner after a reset: ✓ with full score; the section counts it; stop leaves nothing', async () => {
    await engine.reset('uts-namespace');
    await runtime.run({ name: 'named', hostname: 'lab-uts', args: ['sleep', '3600'] });
    const report = await engine.check('uts-namespace');
    expect(report.passed).toBe(true);
    const lab = summary();
    expect(exerciseStatus(lab.progress)).toBe('completed');
    expect(statusLook('completed').glyph).toBe('✓');
    expect(scoreText(lab.progress)).toBe(`${report.max}/${report.max}`);
    const path = groupLabs(engine.list())[0]!;
    expect(sectionDescription(path)).toBe(`1/${path.labs.length} completed`);

    const made = runtime.list().map((container) => ({ id: container.id, pid: container.pid }));
    expect(made.length).toBe(1);
    await engine.stop('uts-namespace');
    expect(exerciseDescription(summary())).toBe(`${report.max}/${report.max}`); // no longer "started"
    expect(exerciseStatus(summary().progress)).toBe('completed'); // progress outlives the scenario
    expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  });
});

describe('countdown', () => {
  const start = '2026-01-01T10:00:00.000Z';
  const at = (iso: string): number => Date.parse(iso);

  test('counts down to the deadline, rounding a started second up', () => {
    const end = attemptDeadline(start, '2026-01-01T10:10:00.000Z', 10)!;
    expect(countdown(end, at('2026-01-01T10:00:00.000Z'))).toEqual({ remainingMs: 600_000, timeUp: false, text: '10:00' });
    expect(countdown(end, at('2026-01-01T10:00:00.400Z')).text).toBe('10:00');
    expect(countdown(end, at('2026-01-01T10:07:31.000Z')).text).toBe('02:29');
    expect(countdown(end, at('2026-01-01T10:09:59.999Z'))).toEqual({ remainingMs: 1, timeUp: false, text: '00:01' });
    expect(countdown(attemptDeadline(start, null, 90)!, at('2026-01-01T10:00:01.000Z')).text).toBe('1:29:59');
  });

  test('the agent\'s deadline wins; an agent without deadlines ran attempts for the limit from their start', () => {
    expect(attemptDeadline(start, '2026-01-01T10:01:00.000Z', 10)).toBe(at('2026-01-01T10:01:00.000Z'));
    expect(attemptDeadline(start, undefined, 10)).toBe(at('2026-01-01T10:10:00.000Z'));
    expect(attemptDeadline(start, 'not a date', 10)).toBe(at('2026-01-01T10:10:00.000Z'));
  });

  test('at the deadline the time is up: it stays at 00:00, no overtime is counted', () => {
    const end = attemptDeadline(start, '2026-01-01T10:10:00.000Z', 10)!;
    expect(countdown(end, at('2026-01-01T10:10:00.000Z'))).toEqual({ remainingMs: 0, timeUp: true, text: '00:00' });
    expect(countdown(end, at('2026-01-01T10:11:05.900Z'))).toEqual({ remainingMs: 0, timeUp: true, text: '00:00' });
  });

  test('no running attempt, or an unreadable start, gives no deadline', () => {
    expect(attemptDeadline(null, null, 10)).toBeNull();
    expect(attemptDeadline('not a date', null, 10)).toBeNull();
    expect(attemptDeadline(start, null, undefined)).toBeNull();
  });
});

describe('an attempt that ran out of time, in the panel', () => {
  const progress = (changes: Partial<LabProgress>): LabProgress => ({
    startedAt: null,
    deadline: null,
    lastScore: null,
    bestScore: null,
    max: 3,
    completed: false,
    solvedByReference: false,
    attempts: 0,
    lastEnded: null,
    ...changes,
  });
  const report = (score: number): LabCheckReport => ({ id: 'lab', passed: score === 3, score, max: 3, checks: [] });
  // Local times: the banner speaks the learner's clock, whatever the machine's time zone.
  const local = (hours: number, minutes: number, day = 2): Date => new Date(2026, 0, day, hours, minutes, 30);

  test('the banner: when (the learner\'s clock; the date when not today) and with what score, and what to do', () => {
    const ended = { at: local(14, 5).toISOString(), score: 1.5, max: 3 };
    expect(timeUpText(ended, local(14, 7))).toBe('Time is up: the attempt ended at 14:05 with 1.5/3 points. Start to try again.');
    expect(clockTime(local(9, 3).toISOString(), local(10, 0, 3))).toBe('2026-01-02 09:03');
  });

  test('a time-up shows only while no new attempt runs; a stop is not a time-up', () => {
    const lastEnded = { reason: 'time-up' as const, at: '2026-01-02T10:01:00.000Z', score: 2 };
    expect(timeUpOf(progress({ lastEnded }))).toEqual({ at: lastEnded.at, score: 2, max: 3 });
    expect(timeUpOf(progress({ lastEnded: { ...lastEnded, score: null } }))!.score).toBe(0);
    expect(timeUpOf(progress({ lastEnded, startedAt: '2026-01-02T10:05:00.000Z', deadline: '2026-01-02T10:06:00.000Z' }))).toBeNull();
    expect(timeUpOf(progress({ lastEnded: { reason: 'stopped', at: lastEnded.at, score: null } }))).toBeNull();
  });

  test('the last report stays after a time-up that recorded another score; a check made elsewhere makes it stale', () => {
    const lastEnded = { reason: 'time-up' as const, at: '2026-01-02T10:01:00.000Z', score: 3 };
    expect(reportIsStale(report(0), progress({ attempts: 1, lastScore: 3, bestScore: 3, lastEnded }))).toBe(false);
    expect(reportIsStale(report(0), progress({ attempts: 1, lastScore: 0 }))).toBe(false);
    expect(reportIsStale(report(0), progress({ attempts: 2, lastScore: 2 }))).toBe(true);
    expect(reportIsStale(report(0), progress({ attempts: 0 }))).toBe(true);
  });
});

/** Every character of text a block shows (code keeps its own). */
function shownText(blocks: Block[]): string {
  return blocks
    .map((block) => {
      switch (block.kind) {
        case 'code':
          return block.text;
        case 'list':
          return block.items.map((item) => inlineText(item)).join(' ');
        default:
          return inlineText(block.content);
      }
    })
    .join(' ');
}

/** The source without Markdown's own marks (list markers, fences, emphasis and code marks, #). */
function sourceText(markdown: string): string {
  return markdown
    .split('\n')
    .filter((line) => !/^\s*(```|~~~)/.test(line))
    .map((line) => line.replace(/^\s*(\d{1,9}[.)]|[-*+])\s+/, '').replace(/^\s*#{1,6}\s+/, ''))
    .join(' ');
}

const squeeze = (text: string): string => text.replace(/[`*_\s]/g, '');

describe('the Markdown reader on every real lab', () => {
  const labs = loadLabs(LABS_DIRECTORY);

  test('for each task, hint and explanation: every character of text is kept, nothing is added', () => {
    let checked = 0;
    for (const lab of labs) {
      const detail = engine.show(lab.id);
      for (const text of [detail.task, ...detail.hints, engine.solution(lab.id).explanation ?? '']) {
        expect(squeeze(shownText(parseMarkdown(text))), `${lab.id}: ${text.slice(0, 60)}`).toBe(squeeze(sourceText(text)));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(labs.length * 2);
  });

  test('level 1: a paragraph, then an ordered list whose items hold bold names and commands as code', () => {
    const blocks = parseMarkdown(engine.show('a-process').task);
    expect(blocks.map((block) => block.kind)).toEqual(['paragraph', 'list']);
    const list = blocks[1] as Extract<Block, { kind: 'list' }>;
    expect(list.ordered).toBe(true);
    expect(list.items).toHaveLength(3);
    // the command on the item's indented second line belongs to the item
    expect(list.items[0]).toContainEqual({ kind: 'code', text: 'containers-lab run -d --name first busybox -- sleep 3600' });
    expect(list.items[0]).toContainEqual({ kind: 'strong', children: [{ kind: 'text', text: 'first' }] });
  });

  test('a fenced block keeps its language and its lines (exercise "resource limits")', () => {
    const lab = labs.find((candidate) => /```yaml/.test(candidate.task))!;
    const code = parseMarkdown(engine.show(lab.id).task).find((block): block is Extract<Block, { kind: 'code' }> => block.kind === 'code')!;
    expect(code.language).toBe('yaml');
    const fenced = /```yaml\n([\s\S]*?)\n\s*```/.exec(lab.task)![1]!;
    expect(code.text.split('\n').map((line) => line.trim())).toEqual(fenced.split('\n').map((line) => line.trim()));
  });

  test('a line right after a list item continues it (level "cgroup files")', () => {
    const lab = labs.find((candidate) => candidate.task.includes('`cat /proc/PID/cgroup`'))!;
    const list = parseMarkdown(engine.show(lab.id).task).find((block): block is Extract<Block, { kind: 'list' }> => block.kind === 'list')!;
    expect(list.items).toHaveLength(2);
    expect(inlineText(list.items[1]!)).toContain('cat /proc/PID/cgroup');
  });

  test('markup in a lab stays text: tags, entities and script are characters, not elements', () => {
    const hostile = '# Title <script>alert(1)</script>\n\nA <img src=x onerror=alert(1)> and &amp; `<b>` **<i>bold</i>**';
    const blocks = parseMarkdown(hostile);
    expect(blocks[0]).toEqual({ kind: 'heading', level: 1, content: [{ kind: 'text', text: 'Title <script>alert(1)</script>' }] });
    expect(blocks[1]).toEqual({
      kind: 'paragraph',
      content: [
        { kind: 'text', text: 'A <img src=x onerror=alert(1)> and &amp; ' },
        { kind: 'code', text: '<b>' },
        { kind: 'text', text: ' ' },
        { kind: 'strong', children: [{ kind: 'text', text: '<i>bold</i>' }] },
      ],
    });
  });

  test('emphasis: nesting, underscores inside words and unclosed marks stay literal', () => {
    expect(parseInline('**bold *and em* here**')).toEqual([
      { kind: 'strong', children: [{ kind: 'text', text: 'bold ' }, { kind: 'em', children: [{ kind: 'text', text: 'and em' }] }, { kind: 'text', text: ' here' }] },
    ]);
    expect(parseInline('memory.limit_in_bytes and /proc/*/ns')).toEqual([{ kind: 'text', text: 'memory.limit_in_bytes and /proc/*/ns' }]);
    expect(parseInline('`a ** b` **c**')).toEqual([{ kind: 'code', text: 'a ** b' }, { kind: 'text', text: ' ' }, { kind: 'strong', children: [{ kind: 'text', text: 'c' }] }]);
    expect(parseInline('2 * 3 = 6')).toEqual([{ kind: 'text', text: '2 * 3 = 6' }]);
  });
});

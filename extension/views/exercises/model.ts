/*
 * The Exercises view's rules, without 'vscode' (tested on the real lab files): how labs are
 * grouped — the learning path first, its levels in order, then one group per CKA domain — and how
 * each lab's progress reads at a glance:
 *
 *   ✓ completed   the learner's own work once passed with full score (progress.completed)
 *   ◐ shown       not completed, but the reference solution was run ("show me")
 *   ✗ tried       checked at least once, never with full score
 *   ○ not tried   never checked
 *
 * Progress lives in the agent's state root (lab.list carries it), so it is the lab host's memory
 * of the learner, kept across VS Code sessions and shared with `containers-lab lab …` in a terminal.
 */
import { LAB_DOMAINS, type LabDomain, type LabProgress, type LabSummary } from '../../../agent/protocol';

export const LEARNING_PATH_LABEL = 'Learning path';

export interface ExerciseSection {
  /** Stable tree id: "path" or "domain:<domain>". */
  key: string;
  label: string;
  /** null for the learning path. */
  domain: LabDomain | null;
  labs: LabSummary[];
}

const byOrder = (a: LabSummary, b: LabSummary): number => a.order - b.order || a.id.localeCompare(b.id);

/** The learning path (levels by order), then each domain that has exercises, in the curriculum's order. */
export function groupLabs(labs: readonly LabSummary[]): ExerciseSection[] {
  const sections: ExerciseSection[] = [];
  const levels = labs.filter((lab) => lab.kind === 'level').sort(byOrder);
  if (levels.length > 0) sections.push({ key: 'path', label: LEARNING_PATH_LABEL, domain: null, labs: levels });
  for (const domain of LAB_DOMAINS) {
    const exercises = labs.filter((lab) => lab.kind === 'exercise' && lab.domain === domain).sort(byOrder);
    if (exercises.length > 0) sections.push({ key: `domain:${domain}`, label: domain, domain, labs: exercises });
  }
  return sections;
}

export type ExerciseStatus = 'completed' | 'shown' | 'tried' | 'not-tried';

export function exerciseStatus(progress: LabProgress): ExerciseStatus {
  if (progress.completed) return 'completed';
  if (progress.solvedByReference) return 'shown';
  return progress.attempts > 0 ? 'tried' : 'not-tried';
}

export interface StatusLook {
  /** The character the learner reads (also in the tooltip and the panel). */
  glyph: '✓' | '◐' | '✗' | '○';
  /** A codicon id for the tree item. */
  icon: string;
  /** A theme colour id, so every theme shows pass/fail in its own colours. */
  color: string | undefined;
  label: string;
}

export function statusLook(status: ExerciseStatus): StatusLook {
  switch (status) {
    case 'completed':
      return { glyph: '✓', icon: 'pass-filled', color: 'testing.iconPassed', label: 'completed' };
    case 'shown':
      return { glyph: '◐', icon: 'eye', color: 'testing.iconSkipped', label: 'solved by the reference solution, not yet by you' };
    case 'tried':
      return { glyph: '✗', icon: 'error', color: 'testing.iconFailed', label: 'tried, not full score yet' };
    case 'not-tried':
      return { glyph: '○', icon: 'circle-large-outline', color: undefined, label: 'not tried' };
  }
}

/** The score shown beside a lab: the best so far, "–" before the first check. */
export function scoreText(progress: LabProgress): string {
  const score = progress.bestScore ?? progress.lastScore;
  return `${score === null ? '–' : formatPoints(score)}/${formatPoints(progress.max)}`;
}

/** "2/4", and "· started" while the lab's setup is in place on the host, or how the last attempt ended. */
export function exerciseDescription(summary: LabSummary): string {
  const { progress } = summary;
  const state = progress.startedAt ? ' · started' : progress.lastEnded?.reason === 'time-up' ? ' · time was up' : '';
  return `${scoreText(progress)}${state}${progress.solvedByReference && !progress.completed ? ' · solution shown' : ''}`;
}

export function exerciseTooltip(summary: LabSummary): string {
  const { progress } = summary;
  const status = statusLook(exerciseStatus(progress));
  const lines = [
    summary.title,
    `${summary.kind === 'level' ? `Level ${summary.order}` : 'Exercise'} · ${summary.domain}`,
    `Difficulty: ${summary.difficulty} · Time limit: ${summary.timeLimitMinutes} min`,
    progress.attempts === 0
      ? `${status.glyph} Not tried yet (${formatPoints(progress.max)} points)`
      : `${status.glyph} Best ${formatPoints(progress.bestScore ?? 0)}/${formatPoints(progress.max)}, last ${formatPoints(progress.lastScore ?? 0)}/${formatPoints(progress.max)} (${progress.attempts} check${progress.attempts === 1 ? '' : 's'})`,
  ];
  if (progress.startedAt) lines.push(`Started ${progress.startedAt}${progress.deadline ? `, time is up at ${progress.deadline}` : ''}`);
  else if (progress.lastEnded?.reason === 'time-up') lines.push(`The last attempt ran out of time (${progress.lastEnded.at}) with ${formatPoints(progress.lastEnded.score ?? 0)}/${formatPoints(progress.max)}`);
  if (progress.solvedByReference) lines.push(`${statusLook('shown').glyph} The reference solution was run${progress.completed ? '' : ': solve it yourself to complete it'}`);
  if (summary.requires.length > 0) lines.push(`Needs: ${summary.requires.join(', ')}`);
  return lines.join('\n');
}

/** "3/15 completed" for a section. */
export function sectionDescription(section: ExerciseSection): string {
  const done = section.labs.filter((lab) => lab.progress.completed).length;
  return `${done}/${section.labs.length} completed`;
}

/** Weights may be fractional in lab files; show 1.5, not 1.5000000001. */
export function formatPoints(points: number): string {
  return Number.isInteger(points) ? String(points) : String(Math.round(points * 100) / 100);
}

/** The labs for a quick pick: the one opened last first, then the tree's order. */
export function pickOrder(labs: readonly LabSummary[], lastOpened: string | undefined): LabSummary[] {
  const ordered = groupLabs(labs).flatMap((section) => section.labs);
  const last = ordered.find((lab) => lab.id === lastOpened);
  return last ? [last, ...ordered.filter((lab) => lab !== last)] : ordered;
}

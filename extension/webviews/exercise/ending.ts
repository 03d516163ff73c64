/*
 * How an attempt that ran out of time reads in the Exercise panel, as plain functions of the
 * agent's progress record (tested without a page): the banner's words, and whether a report the
 * page kept is still the learner's last one. No 'vscode', no DOM.
 */
import type { LabCheckReport, LabProgress } from '../../../agent/protocol';
import { formatPoints } from '../../views/exercises/model';

/** The attempt that ran out of time, as the page keeps it (in its saved state, for reloads). */
export interface TimeUp {
  /** The deadline the agent ended it at (ISO). */
  at: string;
  /** The score the agent recorded for the scenario at that moment. */
  score: number;
  max: number;
}

/** The last attempt's time-up, while no new attempt runs; null otherwise. */
export function timeUpOf(progress: LabProgress): TimeUp | null {
  if (progress.startedAt || progress.lastEnded?.reason !== 'time-up') return null;
  return { at: progress.lastEnded.at, score: progress.lastEnded.score ?? 0, max: progress.max };
}

/** "14:05" in the learner's time zone; with the date in front when it was not today. */
export function clockTime(iso: string, now: Date): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(at.getHours())}:${two(at.getMinutes())}`;
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate();
  return sameDay ? time : `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${time}`;
}

export function timeUpText(ended: TimeUp, now: Date): string {
  return `Time is up: the attempt ended at ${clockTime(ended.at, now)} with ${formatPoints(ended.score)}/${formatPoints(ended.max)} points. Start to try again.`;
}

/**
 * A report the page kept is stale when the agent's record contradicts it: no check at all, or a
 * different last score — a check since, from the CLI or another window. A time-up records the
 * scenario's score at the deadline as the last score too; that one does not make the learner's
 * last check stale (it stays visible, as the attempt's final report).
 */
export function reportIsStale(report: LabCheckReport, progress: LabProgress): boolean {
  if (progress.attempts === 0) return true;
  if (progress.lastScore === null || progress.lastScore === report.score) return false;
  return timeUpOf(progress)?.score !== progress.lastScore;
}

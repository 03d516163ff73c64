/*
 * What the Exercise panel (extension side) and its page say to each other. Types only: both sides
 * import this file, the page through its browser bundle.
 */
import type { LabCheckReport, LabDetail, LabProgress, LabSolutionText, LabStarted } from '../../../agent/protocol';
import type { TimeUp } from './ending';

/**
 * The page's saved state: the serializer revives the panel from it after a window reload, and
 * the page redraws from it before the agent answers (the timer keeps running meanwhile).
 */
export interface ExerciseState {
  id: string;
  title: string;
  /** The running scenario's start (lab.start), or null when stopped. */
  startedAt?: string | null;
  /** When the running attempt ends (the agent's deadline); absent from agents before deadlines. */
  deadline?: string | null;
  timeLimitMinutes?: number;
  /** The last attempt ran out of time (and none runs now): the banner that says so survives a reload. */
  timeUp?: TimeUp | null;
  /** How many of the lab's hints the learner has revealed. */
  hintsShown?: number;
  /** The last check's report, to show again after a reload. */
  report?: LabCheckReport | null;
  /** When a check of the running attempt first passed (ms since the epoch): the timer stops there. */
  solvedAt?: number | null;
}

export type Action = 'start' | 'reset' | 'check' | 'stop' | 'solution' | 'openTerminal';

export type ToPage =
  /** The lab as the agent describes it now (task, checks, hints, progress). */
  | { type: 'detail'; detail: LabDetail }
  | { type: 'started'; started: LabStarted }
  | { type: 'report'; report: LabCheckReport }
  | { type: 'stopped' }
  /** The agent ended the attempt at its deadline (lab.changed): progress has the time-up in lastEnded. */
  | { type: 'ended'; progress: LabProgress }
  | { type: 'solution'; solution: LabSolutionText }
  /** An action is under way (buttons wait), or none (null). */
  | { type: 'busy'; action: Action | null }
  | { type: 'error'; message: string }
  | { type: 'connection'; connected: boolean };

/** 'refresh': the countdown reached zero — read the agent's record again to see the attempt end. */
export type FromPage = { type: 'ready' } | { type: 'connect' } | { type: 'refresh' } | { type: 'action'; action: Action };

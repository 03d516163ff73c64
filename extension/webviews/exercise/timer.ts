/*
 * The exercise countdown, as arithmetic: it counts to the attempt's deadline — the instant the
 * agent ends the attempt (lab.start's `deadline`, kept in its state root), like an exam's. Because
 * it is computed from that instant rather than counted in the page, it survives hiding the panel,
 * reloading the window and reconnecting. It stops at zero: the agent service scores the attempt
 * then and removes its scenario, so there is no overtime to count.
 */

export interface Countdown {
  /** Milliseconds left; 0 once the time is up. */
  remainingMs: number;
  timeUp: boolean;
  /** "09:58", "00:00" once the time is up; hours when needed ("1:02:03"). */
  text: string;
}

/**
 * When the running attempt ends, as epoch ms: the agent's deadline; an agent from before deadlines
 * sends none, and its attempts ran for the time limit from their start. Null when none runs.
 */
export function attemptDeadline(startedAt: string | null | undefined, deadline: string | null | undefined, timeLimitMinutes: number | undefined): number | null {
  const given = deadline ? Date.parse(deadline) : Number.NaN;
  if (!Number.isNaN(given)) return given;
  if (!startedAt || timeLimitMinutes === undefined) return null;
  const start = Date.parse(startedAt);
  return Number.isNaN(start) ? null : start + timeLimitMinutes * 60_000;
}

export function countdown(deadline: number, now: number): Countdown {
  const remainingMs = Math.max(0, deadline - now);
  return { remainingMs, timeUp: remainingMs === 0, text: clock(remainingMs) };
}

/** Left time rounds up: a started second still counts, so "00:00" shows only when the time is up. */
function clock(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return hours > 0 ? `${hours}:${two(minutes)}:${two(seconds)}` : `${two(minutes)}:${two(seconds)}`;
}

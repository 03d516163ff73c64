/*
 * The exercise countdown, as arithmetic: it starts at lab.start's `startedAt` (the agent's clock,
 * kept in its state root) and runs for the lab's time limit, like an exam's. Because it is computed
 * from that instant rather than counted in the page, it survives hiding the panel, reloading the
 * window and reconnecting. After the limit it counts the overtime instead of stopping: the checks
 * still work, the learner just sees they took longer.
 */

export interface Countdown {
  /** Milliseconds left; negative once the time is up. */
  remainingMs: number;
  overtime: boolean;
  /** "09:58", or "+01:05" past the limit; hours when needed ("1:02:03"). */
  text: string;
}

export function countdown(startedAt: string, timeLimitMinutes: number, now: number): Countdown | null {
  const start = Date.parse(startedAt);
  if (Number.isNaN(start)) return null;
  const remainingMs = start + timeLimitMinutes * 60_000 - now;
  const overtime = remainingMs < 0;
  return { remainingMs, overtime, text: `${overtime ? '+' : ''}${clock(Math.abs(remainingMs), overtime)}` };
}

/** Left time rounds up (a started second still counts), overtime rounds down. */
function clock(ms: number, overtime: boolean): string {
  const total = overtime ? Math.floor(ms / 1000) : Math.ceil(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return hours > 0 ? `${hours}:${two(minutes)}:${two(seconds)}` : `${two(minutes)}:${two(seconds)}`;
}

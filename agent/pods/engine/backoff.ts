/*
 * The kubelet's crash-loop back-off. A container that must be restarted is restarted at once the
 * first time; then the wait before each restart starts at 10 s and doubles (10, 20, 40, 80, 160)
 * up to 5 minutes. A container that ran for 10 minutes before it ended starts over at once.
 */
export const INITIAL_BACKOFF_S = 10;
export const MAX_BACKOFF_S = 300;
export const RESET_AFTER_S = 600;

export interface BackoffState {
  /** The wait before the next restart, in seconds (0: at once). */
  delaySeconds: number;
}

/** The wait before this restart and the state after it, given how long the container ran. */
export function nextBackoff(state: BackoffState, ranSeconds: number): { waitSeconds: number; next: BackoffState } {
  const delay = ranSeconds >= RESET_AFTER_S ? 0 : state.delaySeconds;
  const next = delay === 0 ? INITIAL_BACKOFF_S : Math.min(delay * 2, MAX_BACKOFF_S);
  return { waitSeconds: delay, next: { delaySeconds: next } };
}

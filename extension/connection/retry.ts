/*
 * Trying again: which failures to connect are worth another try by themselves, and how long to
 * pause between tries.
 *
 * A lab host that does not answer now is usually back in a while: the agent stopped by
 * `scripts/lab stop` and started again, a VM still booting, sshd restarting. The learner should
 * not have to notice that and press Connect — and a window reloaded during the outage must end up
 * connected once the host is back, not stay "failed". So the connection keeps trying, pausing
 * 0.5 s, then twice as long each time up to 10 s (a few quiet tries a minute, not a busy loop).
 *
 * What waiting does not change is not retried: a host key that changed or was not trusted (a
 * security decision that is the user's), a sudo that wants a password, a Node.js too old or an
 * architecture the bundle has no native module for, a root-only socket this VS Code cannot open.
 */
import { HostKeyChangedError, HostKeyRejectedError } from './host-keys';

/** Messages of failures that stay failures however long one waits (see the file's comment). */
const LASTING = [/passwordless sudo/, /Node\.js \d+\+ is required/, /architecture ".*" is not supported/, /no koffi native module/, /the socket is root-only/, /superseded/];

export function isWorthRetrying(error: unknown): boolean {
  if (error instanceof HostKeyChangedError || error instanceof HostKeyRejectedError) return false;
  const message = error instanceof Error ? error.message : String(error);
  return !LASTING.some((pattern) => pattern.test(message));
}

/** Pauses that double from `initialMs` up to `maxMs`. */
export class Backoff {
  private pause: number;

  constructor(
    initialMs = 500,
    private readonly maxMs = 10_000,
  ) {
    this.pause = initialMs;
  }

  /** The pause before the next try (and doubles the one after it). */
  next(): number {
    const pause = this.pause;
    this.pause = Math.min(this.pause * 2, this.maxMs);
    return pause;
  }
}

/** "retrying in 2.0 s": what the state's detail says while waiting. */
export function retryNote(pauseMs: number): string {
  return `retrying in ${(pauseMs / 1000).toFixed(1)} s`;
}

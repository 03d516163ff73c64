/*
 * Noticing that a process ended.
 *
 * When a child exits the kernel keeps a small "zombie" entry until its parent collects the exit
 * status with waitpid(2), and sends the parent SIGCHLD. The agent listens for SIGCHLD and
 * collects the status of each process it started. Node's own child_process machinery only ever
 * waits for the PIDs it spawned itself, so the two never take each other's children.
 *
 * A container started by an earlier agent (before a restart, or by the standalone CLI) is not
 * our child: its status goes to whoever adopted it. For those the watcher can only notice that
 * the PID is gone (or reused, which its start time reveals), by checking once a second.
 *
 * Node does not count a signal listener as a reason to keep running: with nothing else pending
 * it ends the process — exit code 0 — while the child still runs or its SIGCHLD is still on its way. The service always has
 * its listening socket; the standalone CLI, whose agent talks over in-memory pipes, may have
 * nothing once an exec'd program's output has closed (an OOM-killed `dd`, a program that closes
 * its stdio), so it would end before learning the exit status it is waiting to print. A watch
 * that someone awaits (`holdOpen`) therefore keeps a referenced timer until its status is in.
 */
import { readFileSync } from 'node:fs';
import { reap, type ExitStatus } from '../../kernel/processes';

export type ExitListener = (status: ExitStatus | null) => void;

const ADOPTED_POLL_MS = 1000;
/** The hold only has to exist: SIGCHLD does the collecting, its ticks are no more than a backstop. */
const HOLD_POLL_MS = 1000;

export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

export function isSameProcessAlive(pid: number, startTime: string | null): boolean {
  const now = processStartTime(pid);
  return now !== null && (startTime === null || now === startTime);
}

export class ExitWatcher {
  private readonly children = new Map<number, ExitListener>();
  private readonly adopted = new Map<number, { startTime: string | null; listener: ExitListener }>();
  private timer: NodeJS.Timeout | null = null;
  /** Children whose exit someone is waiting for, and the timer that keeps us alive for them. */
  private readonly held = new Set<number>();
  private holdTimer: NodeJS.Timeout | null = null;
  private readonly onSigchld = (): void => this.collectChildren();

  constructor() {
    process.on('SIGCHLD', this.onSigchld);
  }

  /**
   * Watches a process this agent cloned; its exit status is collected here. `holdOpen`: this
   * process (the agent) stays alive until then — for a status somebody waits for (an exec's), not
   * for a detached container that a standalone CLI leaves behind.
   */
  watchChild(pid: number, listener: ExitListener, options: { holdOpen?: boolean } = {}): void {
    this.children.set(pid, listener);
    if (options.holdOpen) {
      this.held.add(pid);
      this.holdTimer ??= setInterval(() => this.collectChildren(), HOLD_POLL_MS);
    }
    // It may have exited before we started listening.
    this.collectChildren();
  }

  /** Watches a process some earlier agent started: only its disappearance can be seen. */
  watchAdopted(pid: number, startTime: string | null, listener: ExitListener): void {
    this.adopted.set(pid, { startTime, listener });
    this.timer ??= setInterval(() => this.pollAdopted(), ADOPTED_POLL_MS).unref();
  }

  isWatching(pid: number): boolean {
    return this.children.has(pid) || this.adopted.has(pid);
  }

  isChild(pid: number): boolean {
    return this.children.has(pid);
  }

  /** Checks now (e.g. right after sending a signal) instead of waiting for the next event. */
  poll(): void {
    this.collectChildren();
    this.pollAdopted();
  }

  close(): void {
    process.off('SIGCHLD', this.onSigchld);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.held.clear();
    this.releaseHold();
  }

  private collectChildren(): void {
    for (const [pid, listener] of [...this.children]) {
      let status: ExitStatus | null;
      try {
        status = reap(pid);
      } catch {
        // ECHILD: someone else collected it; we know it ended, not how
        this.forget(pid);
        listener(null);
        continue;
      }
      if (status) {
        this.forget(pid);
        listener(status);
      }
    }
  }

  private forget(pid: number): void {
    this.children.delete(pid);
    this.held.delete(pid);
    if (this.held.size === 0) this.releaseHold();
  }

  private releaseHold(): void {
    if (this.holdTimer) clearInterval(this.holdTimer);
    this.holdTimer = null;
  }

  private pollAdopted(): void {
    for (const [pid, { startTime, listener }] of [...this.adopted]) {
      if (isSameProcessAlive(pid, startTime)) continue;
      this.adopted.delete(pid);
      listener(null);
    }
    if (this.adopted.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
